"""The one error wrapper of the command line.

Every command is wrapped by :func:`guarded`:

* an expected error (bad data, a bad option value, a damaged model file, a file that
  cannot be read or written) prints ONE line on stderr, ``error: <file>: <what>,
  <where>, <what to do>``, and exits with status 1;
* any other exception prints one line naming it, ``error: KeyError: ... (run with
  --debug for the traceback)``, and exits with status 1;
* ``--debug`` (on every command) re-raises instead, for the full traceback;
* Ctrl-C exits with status 130 and SIGTERM with 143, both leaving no partial output (the
  writers drop their temporary files on the way out);
* a closed pipe (``latentwatch score ... | head``) exits with status 141 and one line
  saying that the output is incomplete;
* ``--out`` naming an input file (symbolic links resolved) is refused before anything
  is read;
* warnings are printed as one ``warning: ...`` line each;
* user data in a message (values, column names, file names) is shown literally:
  control characters (ESC, bidi overrides...) as escapes (:func:`visible`), never as
  rich markup.

:class:`Group`, the app's command group, prints usage errors (an unknown option, a
value of the wrong type) as one ``error: ...`` line too; they keep click's status 2.

This module imports no heavy library: the command line's ``--help`` and ``--version``
answer without torch or pandas.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import unicodedata
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

DEBUG_HINT = "(run with --debug for the traceback)"


EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
EXIT_BROKEN_PIPE = 141


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is so that it unwinds like Ctrl-C."""


def visible(text: Any) -> str:
    """``text`` with control and format characters (ESC, BEL, bidi overrides, ...) shown
    as escapes such as ``\\x1b``, so that data never drives the terminal; tabs and
    newlines are kept."""
    text = str(text)
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char in "\t\n" or unicodedata.category(char) not in ("Cc", "Cf", "Zl", "Zp", "Co",
                                                                "Cs"):
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000
                       else f"\\U{code:08x}")
    return "".join(out)


def one_line(text: Any) -> str:
    """``text`` with every run of white space (newlines included) made one space, and
    control characters made visible."""
    return visible(" ".join(str(text).split()))


def print_error(message: Any) -> None:
    """Print ``error: message`` as one line on stderr."""
    typer.echo(f"error: {one_line(message)}", err=True)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` (in the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _check_outputs(kwargs: dict[str, Any]) -> None:
    """Refuse ``--out`` naming one of the command's input files."""
    out = kwargs.get("out")
    if out is None or not isinstance(out, str | os.PathLike):
        return
    from latentwatch.cli.reading import check_out

    inputs = [kwargs.get(k) for k in ("data", "model", "schema_file")]
    check_out(out, *(i for i in inputs if isinstance(i, str | os.PathLike)
                     and str(i) != "infer"))
    check_writable(out)


def check_writable(out: str | os.PathLike) -> None:
    """Refuse, before any work, an ``--out`` whose folder cannot take a new file (a
    probe file is created there and removed), naming the path."""
    import tempfile

    from latentwatch.errors import DataError

    if str(out) == "-":
        return
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise DataError(f"--out {out}: cannot write (no such directory {folder})")
    try:
        fd, probe = tempfile.mkstemp(prefix=".latentwatch-probe-", dir=folder)
    except OSError as exc:
        raise DataError(f"--out {out}: cannot write in {folder} "
                        f"({exc.strerror or exc}); pass a path you can write") from None
    os.close(fd)
    os.unlink(probe)


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
            with sigterm_as_interrupt(), one_line_warnings():
                _check_outputs(kwargs)
                return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, _CLICK_EXCEPTION):
            raise
        except Terminated:
            print_error("terminated (SIGTERM); no partial output was left")
            raise typer.Exit(EXIT_TERMINATED) from None
        except KeyboardInterrupt:
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            _silence_stdout()
            print_error("<stdout>: the reader closed the pipe before the end; the output is "
                        "incomplete")
            raise typer.Exit(EXIT_BROKEN_PIPE) from None
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
