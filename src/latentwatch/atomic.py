"""Writing files atomically: to a temporary file beside the target, renamed when complete.

A temporary file is named ``.latentwatch-<host>-<pid>-<random>.tmp``
(:func:`temp_file`). A failed rename, an error, Ctrl-C or SIGTERM removes it; one left by
a killed process (SIGKILL, power loss) is recognised by its name and removed by the next
writer in that directory on the same host once its process no longer runs
(:func:`remove_orphans`). The renamed file gets the mode a new file gets under the
user's umask (:func:`replace_atomically`).

Model files (:mod:`latentwatch.persistence`), the command line's outputs, the table
writer of :mod:`latentwatch.data.io` and the Dask parts all write this way.

Examples
--------
>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> tmp = temp_file(folder)
>>> with open(tmp, "w") as handle:
...     _ = handle.write("done")
>>> replace_atomically(tmp, os.path.join(folder, "result.txt"))
>>> os.listdir(folder)
['result.txt']
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
from pathlib import Path

from latentwatch.errors import DataError

TEMP_PREFIX = ".latentwatch-"
# A temporary file of a writer: its host and process id, then mkstemp's random part.
TEMP_NAME = re.compile(r"^\.latentwatch-(?P<host>[A-Za-z0-9_.-]+)-(?P<pid>[0-9]+)-[^/]*\.tmp$")


def host_name() -> str:
    """This host's name as it appears in temporary names (letters, digits, ``_`` and
    ``.``; at most 60 characters)."""
    return re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname())[:60] or "host"


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (``True`` when that cannot be told)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True
    return True


def temp_file(directory: str | Path) -> str:
    """A new empty temporary file in ``directory``, named
    ``.latentwatch-<host>-<pid>-<random>.tmp`` so that :func:`remove_orphans` can tell
    one whose writer died; orphans of dead writers there are removed first.

    Raises
    ------
    DataError
        If the directory cannot be written.
    """
    remove_orphans(directory)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{host_name()}-{os.getpid()}-",
                                   suffix=".tmp", dir=directory)
    except OSError as exc:
        raise DataError(f"{directory}: cannot write ({exc.strerror or exc})") from exc
    os.close(fd)
    return tmp


def remove_orphans(directory: str | Path) -> list[str]:
    """Remove the temporary files that writers on this host left in ``directory`` when
    they were killed (their process no longer runs); returns their names.

    Files of other hosts (a shared disk) and of running processes are left alone.
    """
    removed: list[str] = []
    host = host_name()
    try:
        names = os.listdir(directory or ".")
    except OSError:
        return removed
    for name in names:
        match = TEMP_NAME.match(name)
        if match is None or match["host"] != host or process_alive(int(match["pid"])):
            continue
        try:
            os.unlink(os.path.join(directory or ".", name))
            removed.append(name)
        except OSError:
            pass
    return removed


def replace_atomically(tmp: str | Path, path: str | Path) -> None:
    """Move the finished file ``tmp`` onto ``path`` in one step, with the mode a new file
    gets (``0o666`` less the umask) rather than the ``0o600`` of a ``mkstemp`` file.

    When the move fails (``path`` is a directory, a name too long, no permission),
    ``tmp`` is removed and a :class:`DataError` names ``path``.

    Parameters
    ----------
    tmp : str or Path
        A file in the directory of ``path`` (a rename across file systems fails).
    path : str or Path
        Where it goes; a file there is replaced.
    """
    umask = os.umask(0)
    os.umask(umask)
    try:
        if os.path.isdir(path):
            raise IsADirectoryError(21, "is a directory", str(path))
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise DataError(f"{path}: cannot write ({exc.strerror or exc}); nothing was "
                        "written") from exc


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`replace_atomically`).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_bytes(folder / "a.bin", b"abc").read_bytes()
    b'abc'
    """
    path = Path(path)
    tmp = temp_file(path.parent)
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
        replace_atomically(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
