"""One thread budget for every library a benchmark runs: BLAS/OpenMP, torch, threadpoolctl.

The environment variables take effect only if they are set before numpy, scikit-learn or
torch are first imported; ``configure_threads`` also limits the pools of libraries already
loaded.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


def limit_threads(n: int, *, warn: bool = True) -> None:
    """Set the BLAS/OpenMP thread variables to ``n``.

    Parameters
    ----------
    n : int
        Threads per pool, at least 1.
    warn : bool
        Warn when numpy, torch or scikit-learn were imported before (the variables then
        no longer reach them).

    Examples
    --------
    >>> import os
    >>> limit_threads(1, warn=False)
    >>> os.environ["OMP_NUM_THREADS"]
    '1'
    """
    if n < 1:
        raise SystemExit(f"--threads is {n}: give 1 or more")
    heavy = [m for m in ("numpy", "torch", "sklearn") if m in sys.modules]
    if warn and heavy:
        warnings.warn(f"{heavy} imported before thread limits were set", stacklevel=2)
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(n)


def configure_threads(n: int) -> None:
    """Limit torch (intra- and inter-op) and the BLAS/OpenMP pools to ``n`` threads."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(n)
    with contextlib.suppress(RuntimeError):  # already set, or parallel work already started
        torch.set_num_interop_threads(n)
    threadpool_limits(n)


def use_threads(n: int) -> None:
    """Both: the environment variables (for child processes too) and the loaded pools."""
    limit_threads(n, warn=False)
    configure_threads(n)
