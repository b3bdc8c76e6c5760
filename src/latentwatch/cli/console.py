"""The command line's console: rich output that shows user data literally."""

from __future__ import annotations

from typing import Any

from latentwatch.cli.errors import visible


def literal_console(stderr: bool = False):
    """A rich console that shows text literally: no markup, no highlighting, control
    characters of the data made visible (:func:`~latentwatch.cli.errors.visible`)."""
    from rich.console import Console

    class LiteralConsole(Console):
        def print(self, *objects: Any, **kwargs: Any) -> None:
            kwargs.setdefault("markup", False)
            super().print(*(visible(o) if isinstance(o, str) else o for o in objects),
                          **kwargs)

    return LiteralConsole(stderr=stderr, highlight=False, soft_wrap=True)


def literal(value: Any):
    """User data as a rich Text: never read as markup, control characters visible."""
    from rich.text import Text

    return Text(visible(value))


def schema_table(schema, title: str):
    from rich.table import Table

    table = Table(title=literal(title), title_justify="left", show_edge=False)
    for header in ("column", "kind", "details"):
        table.add_column(header, overflow="fold")
    for row in schema.describe():
        table.add_row(*(literal(cell) for cell in row))
    return table
