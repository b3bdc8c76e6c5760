"""``python -m latentwatch``: the command line."""

from latentwatch.cli import main

main()
