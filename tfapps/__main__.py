"""Entry point for `python -m tfapps`."""

from tfapps.cli import main

main()
