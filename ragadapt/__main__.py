"""`python -m ragadapt ...`: the same as the `ragadapt` command."""

from ragadapt.cli.main import main

raise SystemExit(main())
