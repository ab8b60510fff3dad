"""`python -m bot.cli ...` still works (scripts and tests use it); the CLI is bot.frontends.cli."""

import sys

from bot.frontends.cli import main

if __name__ == "__main__":
    sys.exit(main())
