"""``python -m latentwatch``: the command line."""

from latentwatch.cli import main

if __name__ == "__main__":  # not when a tool imports the module (the API docs inspect it)
    main()
