"""`python -m tensorlang`: the same as the `tensorlang` command."""

from .tools.cli import main

raise SystemExit(main())
