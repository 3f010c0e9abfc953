"""`python -m jobs`: the same entry point as the `jobs` command."""

from jobs.cli import main

raise SystemExit(main())
