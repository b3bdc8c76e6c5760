"""The one error wrapper of the command line.

Every command is wrapped by :func:`guarded`:

* an expected error (bad data, a bad option value, a damaged model file, a file that
  cannot be read or written) prints ONE line on stderr, ``error: <file>: <what>,
  <where>, <what to do>``, and exits with status 1;
* any other exception prints one line naming it, ``error: KeyError: ... (run with
  --debug for the traceback)``, and exits with status 1;
* ``--debug`` (on every command) re-raises instead, for the full traceback;
* Ctrl-C exits with status 130, and a closed pipe (``latentwatch score ... | head``)
  ends quietly;
* warnings are printed as one ``warning: ...`` line each.

:class:`Group`, the app's command group, prints usage errors (an unknown option, a
value of the wrong type) as one ``error: ...`` line too; they keep click's status 2.

This module imports no heavy library: the command line's ``--help`` and ``--version``
answer without torch or pandas.
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

DEBUG_HINT = "(run with --debug for the traceback)"


def one_line(text: Any) -> str:
    """``text`` with every run of white space (newlines included) made one space."""
    return " ".join(str(text).split())


def print_error(message: Any) -> None:
    """Print ``error: message`` as one line on stderr."""
    typer.echo(f"error: {one_line(message)}", err=True)


def fail(message: str) -> NoReturn:
    """Stop the command with an expected error (one line, exit status 1)."""
    from latentwatch.errors import DataError

    raise DataError(message)


def expected_message(exc: BaseException) -> str | None:
    """The one-line message of an expected error, or ``None`` for an unexpected one.

    Expected are :class:`~latentwatch.errors.DataError`,
    :class:`~latentwatch.errors.ModelFormatError` and the other ``ValueError``\\ s the
    library raises for values it refuses, ``FloatingPointError`` (training diverged; the
    message says what to lower) and ``OSError`` (a file that cannot be read or written,
    named with the reason).
    """
    if isinstance(exc, OSError):
        reason = exc.strerror or one_line(exc) or type(exc).__name__
        if exc.filename is not None:
            return f"{exc.filename}: {reason}; check the path and its permissions"
        return reason
    if isinstance(exc, ValueError | FloatingPointError):  # refused values; a diverged fit
        return one_line(exc) or type(exc).__name__
    return None


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's final flush of a closed pipe is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests)
        pass


@contextmanager
def one_line_warnings() -> Iterator[None]:
    """Show each warning as one ``warning: ...`` line on stderr."""
    with warnings.catch_warnings():

        def show(message, category, filename, lineno, file=None, line=None) -> None:
            typer.echo(f"warning: {one_line(message)}", err=True)

        warnings.showwarning = show
        yield


def guarded(command: Callable) -> Callable:
    """Wrap a command in the one error policy (see the module docstring).

    The command must take a ``debug`` keyword (the ``--debug`` option).
    """

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        debug = bool(kwargs.get("debug", False))
        try:
            with one_line_warnings():
                return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, _CLICK_EXCEPTION):
            raise
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except BrokenPipeError:
            _silence_stdout()
            raise typer.Exit(0) from None
        except Exception as exc:
            if debug:
                raise
            message = expected_message(exc)
            if message is None:
                message = f"{type(exc).__name__}: {one_line(exc)} {DEBUG_HINT}"
            print_error(message)
            raise typer.Exit(1) from None

    return run


def _click_class(name: str) -> type[BaseException]:
    """A click exception class, found without importing click (typer may vendor it)."""
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == name:
            return cls
    raise ImportError(f"typer.BadParameter does not derive from {name}")


_CLICK_EXCEPTION = _click_class("ClickException")
_USAGE_ERROR = _click_class("UsageError")


class Group(TyperGroup):
    """The ``latentwatch`` command group: usage errors in one ``error: ...`` line."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                standalone_mode=False, **extra)
        try:
            code = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                standalone_mode=False, **extra)
        except _USAGE_ERROR as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # the help is already shown
                message = exc.format_message()
                if message.strip():
                    typer.echo(message)
                sys.exit(exc.exit_code)
            ctx = getattr(exc, "ctx", None)
            hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            print_error(f"{exc.format_message()}{hint}")
            sys.exit(exc.exit_code)
        except _CLICK_EXCEPTION as exc:
            print_error(exc.format_message())
            sys.exit(exc.exit_code)
        except typer.Abort:
            print_error("aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)
