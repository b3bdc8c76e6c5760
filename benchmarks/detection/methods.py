"""The detectors under comparison: peers (PyOD, scikit-learn) and latentwatch.

Every detector is imported lazily inside the function that runs it, so a run of the peers
works without latentwatch (and the protocol tests need neither PyOD nor latentwatch).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

from benchmarks.harness.memory import PeakMemory, peak_above

PEERS = ("iforest", "ecod", "knn", "knn-std", "lof", "lof-std", "pyod-ae", "pyod-vae")
LW_VAE_SCORES = {
    "lw-vae": None,  # the detector's default score
    "lw-vae-rp": "reconstruction_probability",
    "lw-vae-iw": "importance_weighted",
    "lw-vae-capped": "capped_reconstruction_probability",
    "lw-vae-elbo": "elbo",
    "lw-vae-recerr": "reconstruction_error",
}
LW_METHODS = (*LW_VAE_SCORES, "lw-ae")
ALL_METHODS = PEERS + LW_METHODS

PEER_LABELS = {
    "iforest": "sklearn IsolationForest",
    "ecod": "PyOD ECOD",
    "knn": "PyOD KNN",
    "knn-std": "StandardScaler + PyOD KNN",
    "lof": "PyOD LOF",
    "lof-std": "StandardScaler + PyOD LOF",
    "pyod-ae": "PyOD AutoEncoder",
    "pyod-vae": "PyOD VAE",
}


@dataclass
class Outcome:
    """Scores and costs of one method on one (dataset, seed, setting)."""

    method: str
    scores: np.ndarray | None = None
    fit_s: float = float("nan")
    score_s: float = float("nan")
    peak_mem_mb: float = float("nan")
    error: str = ""


def _pkg_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not-installed"


def method_versions(method: str) -> dict[str, str]:
    """Versions of the libraries whose change should invalidate a cached result of ``method``."""
    if method == "iforest":
        return {"scikit-learn": _pkg_version("scikit-learn")}
    if method in ("ecod", "knn", "knn-std", "lof", "lof-std"):
        return {"pyod": _pkg_version("pyod"), "scikit-learn": _pkg_version("scikit-learn")}
    if method in ("pyod-ae", "pyod-vae"):
        return {"pyod": _pkg_version("pyod"), "torch": _pkg_version("torch")}
    return {"latentwatch": _pkg_version("latentwatch")}


def is_latentwatch(method: str) -> bool:
    """True for latentwatch method names, tagged (``lw-vae[beta0.5]``) or not."""
    return method.startswith("lw-")


def base_name(method: str) -> str:
    """Method name without its ``[tag]``."""
    return method.split("[", 1)[0]


def tagged(method: str, tag: str) -> str:
    """Method name as reported: ``lw-vae`` with tag ``beta0.5`` becomes ``lw-vae[beta0.5]``."""
    return f"{method}[{tag}]" if tag and is_latentwatch(method) else method


def fit_groups(methods: list[str]) -> list[list[str]]:
    """Group methods sharing one fit: the three ``lw-vae*`` score modes share a VAE fit."""
    vae = [m for m in LW_VAE_SCORES if m in methods]  # default score mode first
    groups: list[list[str]] = []
    for m in methods:
        if m in LW_VAE_SCORES:
            if m == vae[0]:
                groups.append(vae)
        else:
            groups.append([m])
    return groups


def _error_text(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno}" if last else ""
    return f"{type(exc).__name__}: {exc}{where}".replace("\n", " ")[:500]


def _make_peer(method: str, seed: int) -> tuple[Any, Callable[[Any, np.ndarray], np.ndarray]]:
    """Peer detector with library defaults and its scoring function (higher = more anomalous)."""
    if method == "iforest":
        from sklearn.ensemble import IsolationForest

        return IsolationForest(random_state=seed), lambda d, X: -d.score_samples(X)
    if method == "ecod":
        from pyod.models.ecod import ECOD

        return ECOD(), lambda d, X: d.decision_function(X)
    if method in ("knn", "knn-std", "lof", "lof-std"):
        from pyod.models.knn import KNN
        from pyod.models.lof import LOF
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        detector = KNN() if method.startswith("knn") else LOF()
        if method.endswith("-std"):
            detector = make_pipeline(StandardScaler(), detector)
        return detector, lambda d, X: d.decision_function(X)
    if method == "pyod-ae":
        from pyod.models.auto_encoder import AutoEncoder

        return AutoEncoder(verbose=0), lambda d, X: d.decision_function(X)
    if method == "pyod-vae":
        from pyod.models.vae import VAE

        return VAE(verbose=0), lambda d, X: d.decision_function(X)
    raise ValueError(f"unknown peer {method!r}")


def run_peer(method: str, X_train: np.ndarray, X_test: np.ndarray, seed: int) -> Outcome:
    """Fit and score one peer; any exception is caught into ``Outcome.error``."""
    out = Outcome(method)
    try:
        detector, score = _make_peer(method, seed)
        with PeakMemory() as fit_mem:
            t0 = time.perf_counter()
            detector.fit(X_train)
            out.fit_s = time.perf_counter() - t0
        with PeakMemory() as score_mem:
            t0 = time.perf_counter()
            out.scores = np.asarray(score(detector, X_test))
            out.score_s = time.perf_counter() - t0
        out.peak_mem_mb = peak_above(fit_mem, fit_mem, score_mem)
    except Exception as exc:
        out.error = _error_text(exc)
    return out


def run_latentwatch(
    group: list[str],
    X_train: np.ndarray,
    X_test: np.ndarray,
    seed: int,
    params: Mapping[str, Any],
) -> list[Outcome]:
    """Fit one latentwatch detector and score it for every method of ``group``.

    ``group`` is ``["lw-ae"]`` or a subset of the ``lw-vae*`` score modes; the VAE is fitted
    once and each score mode is applied with ``set_params(score_method=...)`` (no refit), so every
    ``lw-vae*`` row reports the same fit time.
    """
    outs = [Outcome(m) for m in group]
    try:
        import latentwatch

        cls = latentwatch.AutoEncoderDetector if group == ["lw-ae"] else latentwatch.VAEDetector
        with PeakMemory() as fit_mem:
            t0 = time.perf_counter()
            detector = cls(**{"random_state": seed, **params}).fit(X_train)
            fit_s = time.perf_counter() - t0
    except Exception as exc:
        for out in outs:
            out.error = _error_text(exc)
        return outs
    for out in outs:
        out.fit_s = fit_s
        try:
            mode = LW_VAE_SCORES.get(out.method)
            if mode is not None:
                detector.set_params(score_method=mode)
            with PeakMemory() as score_mem:
                t0 = time.perf_counter()
                out.scores = np.asarray(detector.anomaly_score(X_test))
                out.score_s = time.perf_counter() - t0
            out.peak_mem_mb = peak_above(fit_mem, fit_mem, score_mem)
        except Exception as exc:
            out.error = _error_text(exc)
    return outs
