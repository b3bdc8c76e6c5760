"""Faults injected into the Dask workers from the test side.

:class:`FaultOnce` is a worker plugin: in each worker process (and in one the nanny
starts after a crash) it wraps a function of ``latentwatch.distributed`` so that the first
call over all processes (a marker file, created exclusively, tells which) ends its
process with ``os._exit`` or raises an ``OSError``. It is shipped to the workers by value
(cloudpickle), so they need not import this module.
"""

from __future__ import annotations

import importlib
import os

import cloudpickle
from distributed.diagnostics.plugin import WorkerPlugin

# Where each stage strikes: the function wrapped, and whether the fault comes after its
# call (a partition scored, not yet returned) or before it (a part written to its
# temporary file, not yet renamed).
STAGES = {"score": ("latentwatch.distributed.dask", "score_partition", True),
          "write": ("latentwatch.distributed.parts", "replace_atomically", False)}
MARKER = "fault-fired"


class FaultOnce(WorkerPlugin):
    """Wrap the function of ``stage`` (see :data:`STAGES`) in every worker process; its
    first call over all of them ends the process (``action="exit"``) or raises an
    ``OSError`` (``action="raise"``), and creates ``folder/fault-fired``."""

    name = "latentwatch-fault-once"

    def __init__(self, stage: str, folder: str, action: str = "exit") -> None:
        self.stage, self.folder, self.action = stage, folder, action
        self.original = None

    def setup(self, worker) -> None:
        module_name, attribute, after = STAGES[self.stage]
        module = importlib.import_module(module_name)
        original = self.original = getattr(module, attribute)
        marker, action = os.path.join(self.folder, MARKER), self.action

        def strike() -> None:
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return
            os.write(fd, f"{os.getpid()}\n".encode())
            os.close(fd)
            if action == "raise":
                raise OSError(f"{attribute}: a transient failure (injected by the test)")
            os._exit(70)

        def wrapped(*args, **kwargs):
            if not after:
                strike()
            result = original(*args, **kwargs)
            if after:
                strike()
            return result

        setattr(module, attribute, wrapped)

    def teardown(self, worker) -> None:
        if self.original is not None:
            module_name, attribute, _ = STAGES[self.stage]
            setattr(importlib.import_module(module_name), attribute, self.original)


cloudpickle.register_pickle_by_value(importlib.import_module(__name__))
