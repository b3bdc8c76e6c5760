"""The exceptions the table and command-line code raise for bad input."""

from __future__ import annotations


class DataError(ValueError):
    """Input data or a schema that latentwatch cannot use, with where the problem is.

    The message is one line that names the file (when known), the column and, where it
    applies, the first offending row.
    """


def where(source: str | None, message: str) -> str:
    """``"source: message"``, or the message alone when there is no source."""
    return f"{source}: {message}" if source else message
