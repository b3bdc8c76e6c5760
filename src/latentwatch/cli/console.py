"""The command line's console: rich output that shows user data literally, and the
progress shown on stderr while long work runs (only on a terminal)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


def shows_progress(quiet: bool = False, stream=None) -> bool:
    """Whether a command shows progress: on stderr, when it is a terminal and the
    command is not ``--quiet`` (a pipe, a file or a CI log stays clean)."""
    import sys

    stream = sys.stderr if stream is None else stream
    try:
        return not quiet and stream.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def working(what: str, quiet: bool = False) -> Iterator[Callable[[str], None]]:
    """A spinner with the elapsed time on stderr while the block runs (only when
    :func:`shows_progress`); yields a function that changes the text shown.

    Examples
    --------
    >>> with working("scoring 10 rows", quiet=True) as say:
    ...     say("writing")
    """
    if not shows_progress(quiet):
        yield lambda text: None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                        TimeElapsedColumn(), console=literal_console(stderr=True),
                        transient=True)
    with progress:
        task = progress.add_task(visible(what), total=None)
        yield lambda text: progress.update(task, description=visible(text))
