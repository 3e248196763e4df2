"""`python -m tensorlang`: the same as the `tensorlang` command."""

from .entry import main

raise SystemExit(main())
