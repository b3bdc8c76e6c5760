"""Atomic writes: the mode under the umask, orphans of dead writers, failed renames."""

import os
import subprocess
import sys

import pytest

from latentwatch import atomic
from latentwatch.errors import DataError


def test_the_renamed_file_gets_the_umask_not_mkstemps_mode(tmp_path):
    old = os.umask(0o077)
    try:
        tmp = tmp_path / "tmp"
        tmp.write_text("x")
        os.chmod(tmp, 0o600)
        atomic.replace_atomically(tmp, tmp_path / "private")
        assert (tmp_path / "private").stat().st_mode & 0o777 == 0o600
        assert not tmp.exists() and (tmp_path / "private").read_text() == "x"
        os.umask(0o022)
        path = atomic.write_bytes(tmp_path / "shared.bin", b"abc")
        assert path.stat().st_mode & 0o777 == 0o644 and path.read_bytes() == b"abc"
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["private", "shared.bin"]


def test_orphans_of_dead_writers_on_this_host_only_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert not atomic.process_alive(int(dead)) and atomic.process_alive(os.getpid())
    host = atomic.host_name()
    orphan = tmp_path / f".latentwatch-{host}-{dead}-abc.tmp"
    alive = tmp_path / f".latentwatch-{host}-{os.getpid()}-def.tmp"
    other_host = tmp_path / f".latentwatch-elsewhere-{dead}-ghi.tmp"
    for path in (orphan, alive, other_host):
        path.write_text("partial")
    tmp = atomic.temp_file(tmp_path)
    assert atomic.TEMP_NAME.match(os.path.basename(tmp))
    assert not orphan.exists() and alive.exists() and other_host.exists()


def test_a_failed_rename_removes_the_temporary_file_and_names_the_target(tmp_path):
    existing = tmp_path / "kept.txt"
    existing.write_text("old")
    tmp = atomic.temp_file(tmp_path)
    (tmp_path / "dir").mkdir()
    with pytest.raises(DataError, match=r"dir: cannot write \(is a directory\); nothing was "
                                        r"written$"):
        atomic.replace_atomically(tmp, tmp_path / "dir")
    assert not os.path.exists(tmp) and existing.read_text() == "old"


def test_an_unwritable_folder_is_refused_in_one_line(tmp_path):
    with pytest.raises(DataError, match=r"^.*absent: cannot write \("):
        atomic.temp_file(tmp_path / "absent")
