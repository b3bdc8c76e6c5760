"""Peak memory of one phase (fit or score), as peak resident set size above a baseline.

Preferred method (Linux >= 4.0): reset the kernel's peak-RSS counter by writing ``5`` to
``/proc/self/clear_refs``, run the phase, then read ``VmHWM`` from ``/proc/self/status``.
That is exact (no sampling) and costs nothing while the phase runs. Fallback: a daemon
thread that samples ``psutil.Process().memory_info().rss`` every 5 ms (may miss short
spikes). If neither is available the peak is reported as NaN.

Caveat for both: RSS counts the whole process, and memory the allocator keeps after an
earlier phase is reused without raising RSS, so a later method may look cheaper than it
is. We call ``gc.collect()`` and glibc ``malloc_trim(0)`` before each phase to reduce this.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import math
import threading
from pathlib import Path
from types import TracebackType

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_SAMPLE_SECONDS = 0.005


def _status_kb(field: str) -> int:
    """Value of one ``kB`` field of ``/proc/self/status``."""
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _can_reset_hwm() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
        _status_kb("VmHWM")
    except (OSError, KeyError):
        return False
    return True


def _psutil_process():  # type: ignore[no-untyped-def]
    try:
        import psutil
    except ImportError:
        return None
    return psutil.Process()


def _release_free_memory() -> None:
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


METHOD = "vmhwm" if _can_reset_hwm() else ("psutil" if _psutil_process() else "none")


class PeakMemory:
    """Context manager measuring RSS in MiB: ``baseline_mb`` at entry and ``peak_mb`` inside."""

    def __init__(self) -> None:
        self.baseline_mb = math.nan
        self.peak_mb = math.nan
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._peak_bytes = 0

    def __enter__(self) -> PeakMemory:
        _release_free_memory()
        if METHOD == "vmhwm":
            _CLEAR_REFS.write_text("5")
            self.baseline_mb = _status_kb("VmRSS") / 1024
        elif METHOD == "psutil":
            proc = _psutil_process()
            self._peak_bytes = proc.memory_info().rss
            self.baseline_mb = self._peak_bytes / 2**20
            self._thread = threading.Thread(target=self._sample, args=(proc,), daemon=True)
            self._thread.start()
        return self

    def _sample(self, proc) -> None:  # type: ignore[no-untyped-def]
        while not self._stop.wait(_SAMPLE_SECONDS):
            self._peak_bytes = max(self._peak_bytes, proc.memory_info().rss)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if METHOD == "vmhwm":
            self.peak_mb = _status_kb("VmHWM") / 1024
        elif METHOD == "psutil" and self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._peak_bytes = max(self._peak_bytes, _psutil_process().memory_info().rss)
            self.peak_mb = self._peak_bytes / 2**20


def peak_above(baseline: PeakMemory, *phases: PeakMemory) -> float:
    """Highest peak of ``phases`` above the baseline of ``baseline`` (MiB)."""
    return max(p.peak_mb for p in phases) - baseline.baseline_mb
