"""`python -m bot` runs the same command line as `quotebot`."""

from bot.cli import main

raise SystemExit(main())
