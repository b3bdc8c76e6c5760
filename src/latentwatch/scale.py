"""Fitting a detector on a dataset larger than memory, in one process or with DDP.

:func:`fit_dataset` is what ``VAEDetector(...).fit_dataset(path_or_glob)`` (and the
autoencoder's) runs. It reads like ``fit``, with the data wing streaming:

1. the files are listed (:class:`~latentwatch.data.dataset.TableDataset`) and every row is
   given its split by the hash of its global index: a calibration share (for a
   ``false_alarm_rate`` threshold, at most ``max_calibration_rows`` rows), a validation
   share (``validation_fraction``, at most ``max_validation_rows`` rows) and a sample of
   the training rows (at most ``max_validation_rows``) for the contamination threshold,
   the aggregate posterior and the initial logits;
2. two streaming passes learn the schema and the codec
   (:func:`~latentwatch.data.dataset.fit_codec_stream`) and keep the held-out rows;
3. :func:`latentwatch.engine.streaming.train_stream` trains on shuffled row groups
   (:class:`~latentwatch.data.dataset.StreamingRows`), with early stopping on the
   validation rows and a checkpoint each epoch;
4. the thresholds, the score state and the prior are fitted on the held-out rows as
   ``fit`` fits them.

Under ``torchrun`` (``RANK``/``WORLD_SIZE`` set) the same call trains one model with
DistributedDataParallel: rank 0 makes the statistics pass and broadcasts the codec (as
JSON); each rank reads its own pieces; rank 0 validates, fits the thresholds and
broadcasts them and the score state, so every rank ends with the same fitted detector.
Memory does not grow with the data: it holds a piece of ``chunk_rows`` rows, the shuffle
buffer, the schema sample and the held-out rows, all bounded.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from latentwatch import models, thresholds
from latentwatch.data import codec_from_dict
from latentwatch.data.dataset import (
    SCHEMA_SAMPLE_ROWS,
    SHUFFLE_ROWS,
    StreamingRows,
    StreamSplit,
    TableDataset,
    fit_codec_stream,
)
from latentwatch.data.io import CHUNK_ROWS
from latentwatch.engine import distributed, scoring, seeds
from latentwatch.engine.device import resolve_device, seeded_torch, torch_threads
from latentwatch.engine.splits import stream_shares
from latentwatch.engine.streaming import train_stream
from latentwatch.engine.training import resolve_batch_size, resolve_max_epochs
from latentwatch.errors import DataError
from latentwatch.models.priors import LatentMixture

# Held-out rows of each kind at most (validation, calibration, training sample).
MAX_HELD_OUT_ROWS = 50_000


def fit_dataset(detector, path_or_glob: str | Path, *, fmt: str | None = None,
                checkpoint_dir: str | Path | None = None, resume: bool = False,
                chunk_rows: int = CHUNK_ROWS, shuffle_rows: int = SHUFFLE_ROWS,
                max_validation_rows: int = MAX_HELD_OUT_ROWS,
                max_calibration_rows: int = MAX_HELD_OUT_ROWS,
                sample_rows: int = SCHEMA_SAMPLE_ROWS, skip_bad_rows: bool = False,
                num_workers: int = 0, text_columns: tuple[str, ...] = (),
                on_epoch_end=None, on_fitted=None):
    """Fit ``detector`` on the files of a folder or glob; see the module docstring and
    :meth:`latentwatch.VAEDetector.fit_dataset` for the parameters. Returns the detector.

    ``on_epoch_end(epoch, history)`` runs after every epoch; ``on_fitted(detector)`` runs
    on rank 0 once the detector is fitted (e.g. to save it) while the other ranks wait
    on a barrier.
    """
    detector._validate_params()
    if detector.time_column is not None or detector.window is not None:
        raise ValueError("fit_dataset reads tables; fit a time series (time_column, window) "
                         "in memory with fit")
    model_class = models.MODELS[detector._model_name][0]
    strategy = thresholds.resolve_strategy(detector.threshold, detector.contamination,
                                           model_class.variational)
    detector._check_score_method(strategy)
    training = detector._training_config()
    seed = seeds.draw_seed(detector.random_state)
    device = str(resolve_device(detector.device))
    ctx = distributed.context(device)
    try:
        with torch_threads(detector.n_jobs):
            _fit(detector, ctx, strategy, training, seed, path_or_glob, fmt=fmt,
                 checkpoint_dir=checkpoint_dir, resume=resume, chunk_rows=chunk_rows,
                 shuffle_rows=shuffle_rows, max_validation_rows=max_validation_rows,
                 max_calibration_rows=max_calibration_rows, sample_rows=sample_rows,
                 skip_bad_rows=skip_bad_rows, num_workers=num_workers,
                 text_columns=text_columns, on_epoch_end=on_epoch_end)
        if on_fitted is not None and ctx.main:
            on_fitted(detector)
        distributed.barrier(ctx)
    finally:
        distributed.finish(ctx)
    detector._warn_if_still_improving(stacklevel=4)
    return detector


def _split(data: TableDataset, strategy, seed: int, validation_fraction: float,
           max_validation_rows: int, max_calibration_rows: int) -> StreamSplit:
    p_cal, p_val = stream_shares(data.n_rows, thresholds.calibration_fraction(strategy),
                                 validation_fraction, max_calibration_rows, max_validation_rows)
    if isinstance(strategy, thresholds.FalseAlarmRate) and strategy.calibration_fraction:
        needed = strategy.min_calibration_rows()
        if p_cal * data.n_rows < needed:
            raise ValueError(f"threshold false_alarm_rate {strategy.rate:g} needs at least "
                             f"{needed} calibration rows, but {data.path} gives about "
                             f"{p_cal * data.n_rows:.0f}; raise max_calibration_rows or the "
                             "rate")
    sample = min(1.0 - p_cal - p_val, max_validation_rows / data.n_rows)
    return StreamSplit(seeds.stream(seed, "splits"), p_cal, p_val, sample)


def _statistics(detector, ctx, data: TableDataset, split: StreamSplit, **options) -> dict:
    """Rank 0's statistics pass, as JSON for every rank (an error is raised on all)."""
    payload: dict[str, Any] | None = None
    fitted = None
    if ctx.main:
        try:
            fitted = fit_codec_stream(data, detector.schema, split, **options)
            payload = {"codec": fitted.codec.to_dict(), "counts": fitted.counts}
        except (DataError, ValueError) as exc:
            if not ctx.distributed:
                raise
            payload = {"error": str(exc), "kind": type(exc).__name__}
    payload = distributed.broadcast_json(ctx, payload)
    if "error" in payload:
        raise (DataError if payload["kind"] == "DataError" else ValueError)(payload["error"])
    payload["fitted"] = fitted
    return payload


def _packed(detector, frame, source: str, skip_bad_rows: bool) -> np.ndarray:
    encoded = detector.codec_.encode(frame, source=source)
    if encoded.problems and not skip_bad_rows:
        encoded.raise_for_problems(source)
    return encoded.good


def _fit(detector, ctx, strategy, training, seed: int, path_or_glob, *, fmt, checkpoint_dir,
         resume, chunk_rows, shuffle_rows, max_validation_rows, max_calibration_rows,
         sample_rows, skip_bad_rows, num_workers, text_columns, on_epoch_end) -> None:
    schema = detector.schema
    ids = (tuple(schema.get("id_columns", ())) if isinstance(schema, dict)
           else tuple(getattr(schema, "id_columns", ())))
    data = TableDataset(path_or_glob, fmt=fmt, chunk_rows=chunk_rows,
                        text_columns=tuple(dict.fromkeys((*ids, *text_columns))))
    split = _split(data, strategy, seed, detector.validation_fraction, max_validation_rows,
                   max_calibration_rows)
    stats = _statistics(detector, ctx, data, split, sample_rows=sample_rows,
                        skip_bad_rows=skip_bad_rows, **detector._codec_options())
    detector.seed_ = seed
    detector.device_ = ctx.device
    detector.input_kind_ = "frame"
    detector.codec_ = codec_from_dict(stats["codec"])
    detector.feature_names_in_ = np.asarray(detector.codec_.sources, dtype=object)
    detector.n_features_in_ = len(detector.codec_.sources)
    heads = detector.heads_
    fitted = stats["fitted"]
    source = data.path
    empty = np.zeros((0, detector.codec_.packed_width))
    validation = calibration = sample = empty
    if ctx.main:
        validation = _packed(detector, fitted.validation, source, skip_bad_rows)
        calibration = _packed(detector, fitted.calibration, source, skip_bad_rows)
        sample = _packed(detector, fitted.training_sample, source, skip_bad_rows)
    with seeded_torch(seeds.stream(seed, "init")):
        detector.module_ = models.build(detector._model_name, detector._model_config(),
                                        detector.codec_.shape)
    if len(sample):
        detector.module_.initialise_logits(torch.from_numpy(heads.marginal_logits(sample)))
    detector.module_.to(ctx.device)
    n_train = stats["counts"]["train"]
    batch = resolve_batch_size(training, n_train)
    max_epochs = resolve_max_epochs(training, n_train)
    rows = StreamingRows(data, detector.codec_, split,
                         batch_size=math.ceil(batch / ctx.world_size),
                         seed=seeds.stream(seed, "shuffle"), rank=ctx.rank,
                         world_size=ctx.world_size, shuffle_rows=shuffle_rows,
                         skip_bad_rows=skip_bad_rows, num_workers=num_workers)

    def batches(epoch: int):
        rows.set_epoch(epoch)
        if num_workers == 0:
            return rows
        return torch.utils.data.DataLoader(rows, batch_size=None, num_workers=num_workers)

    from latentwatch.persistence import _json_params

    fingerprint = {"data": data.fingerprint(), "codec": stats["codec"], "seed": seed,
                   "params": _json_params(detector.get_params(deep=False)),
                   "world_size": ctx.world_size, "split": split.to_dict(),
                   "batch": batch, "shuffle_rows": shuffle_rows, "chunk_rows": chunk_rows,
                   "num_workers": num_workers}
    history = train_stream(
        detector.module_, heads, batches,
        torch.from_numpy(validation).to(ctx.device, torch.float32), training, seed,
        max_epochs=max_epochs, ctx=ctx, checkpoint_dir=checkpoint_dir, resume=resume,
        fingerprint=fingerprint, on_epoch_end=on_epoch_end)
    history["rows"] = dict(stats["counts"])
    history["world_size"] = ctx.world_size
    detector.history_ = history
    detector.module_.eval()
    state = _held_out_state(detector, strategy, validation, calibration, sample) if ctx.main \
        else None
    _share_state(detector, ctx, state)


def _held_out_state(detector, strategy, validation, calibration, sample) -> dict:
    """Rank 0: the score state, thresholds and prior from the held-out rows, as JSON."""
    held_out = validation if len(validation) else sample
    scoring.fit_score_state(detector.module_, detector.heads_, held_out, detector.seed_,
                            detector.device_)

    def scores(rows):
        return detector._all_scores(rows) if len(rows) else None

    need_training = thresholds.needs_training_scores(strategy) or not len(validation)
    state = thresholds.fit_threshold(strategy, training=scores(sample) if need_training else None,
                                     validation=scores(validation),
                                     calibration=scores(calibration))
    prior = detector._fit_prior(sample if len(sample) else validation)
    return {"threshold": state.to_dict(),
            "arrays": {m: a.tolist() for m, a in state.arrays().items()},
            "prior": {f: np.asarray(getattr(prior, f)).tolist()
                      for f in ("weights", "means", "covariances")}}


def _share_state(detector, ctx, state: dict | None) -> None:
    """Every rank takes rank 0's thresholds, prior and score state (buffers)."""
    state = distributed.broadcast_json(ctx, state)
    if ctx.distributed:
        for tensor in detector.module_.state_dict().values():
            torch.distributed.broadcast(tensor, 0)
    detector.thresholds_ = thresholds.ThresholdState.from_dict(
        state["threshold"], {m: np.asarray(a, dtype=np.float64)
                             for m, a in state["arrays"].items()})
    detector.prior_ = LatentMixture(*(np.asarray(state["prior"][f], dtype=np.float64)
                                      for f in ("weights", "means", "covariances")))
