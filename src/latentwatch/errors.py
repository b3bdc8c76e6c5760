"""The exceptions latentwatch raises for bad input and bad model files."""

from __future__ import annotations


class DataError(ValueError):
    """Input data or a schema that latentwatch cannot use, with where the problem is.

    The message is one line that names the file (when known), the column and, where it
    applies, the first offending row.
    """


class ModelFormatError(ValueError):
    """A model file is missing, damaged, edited, foreign, or of a format this version
    does not read."""


def where(source: str | None, message: str) -> str:
    """``"source: message"``, or the message alone when there is no source."""
    return f"{source}: {message}" if source else message


class SignatureError(ModelFormatError):
    """A model file that is unsigned, signed by another key, or changed since it was
    signed, when a signature was required (:mod:`latentwatch.signing`)."""


class KeyFileError(ValueError):
    """A key file that is missing or holds no usable Ed25519 key."""
