"""`python -m tensorlang`: the same as the `tensorlang` command."""

from .cli import main

raise SystemExit(main())
