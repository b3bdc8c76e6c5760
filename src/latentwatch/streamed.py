"""The streamed route into the one fit pipeline: data larger than memory.

:func:`prepare_stream` turns a folder or glob of Parquet or CSV files into the same
:class:`~latentwatch.pipeline.PreparedRows` that ``fit`` makes from a table in memory;
the estimator then trains and calibrates both with :func:`latentwatch.pipeline.fit_prepared`.
The steps:

1. the files are listed (:class:`~latentwatch.data.dataset.TableDataset`) and every row is
   given its split by the hash of its global index: a calibration share (for a
   ``false_alarm_rate`` threshold, at most ``max_calibration_rows`` rows), a validation
   share (``validation_fraction``, at most ``max_validation_rows`` rows) and a sample of
   the training rows (at most ``max_validation_rows``) for the contamination threshold,
   the aggregate posterior and the initial logits;
2. two streaming passes learn the schema and the codec
   (:func:`~latentwatch.data.dataset.fit_codec_stream`, on rank 0, which broadcasts the
   codec as JSON) and keep the held-out rows;
3. training reads shuffled row groups (:class:`~latentwatch.data.dataset.StreamingRows`),
   each rank its own pieces.

Memory does not grow with the data: it holds a piece of ``chunk_rows`` rows, the shuffle
buffer, the schema sample and the held-out rows, all bounded.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from latentwatch import thresholds
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
from latentwatch.engine import parallel, seeds
from latentwatch.engine.parallel import Context
from latentwatch.engine.training import TrainingConfig, resolve_batch_size
from latentwatch.errors import DataError
from latentwatch.pipeline import PreparedRows

# Held-out rows of each kind at most (validation, calibration, training sample).
MAX_HELD_OUT_ROWS = 50_000


def _split_for(data: TableDataset, strategy: thresholds.ThresholdStrategy | None, seed: int,
              validation_fraction: float, max_validation_rows: int = MAX_HELD_OUT_ROWS,
              max_calibration_rows: int = MAX_HELD_OUT_ROWS) -> StreamSplit:
    """Every row's split, by the hash of its global index (see the module docstring)."""
    from latentwatch.engine.splits import stream_shares

    p_cal, p_val = stream_shares(data.n_rows, thresholds.calibration_fraction(strategy),
                                 validation_fraction, max_calibration_rows, max_validation_rows)
    thresholds.check_calibration_split(strategy, data.n_rows, p_cal * data.n_rows,
                                       source=str(data.path),
                                       raise_hint="raise max_calibration_rows or the rate")
    sample = min(1.0 - p_cal - p_val, max_validation_rows / data.n_rows)
    return StreamSplit(seeds.stream(seed, "splits"), p_cal, p_val, sample)


def _statistics(ctx: Context, data: TableDataset, schema: Any, split: StreamSplit,
                **options: Any) -> dict:
    """Rank 0's statistics pass, as JSON for every rank (an error is raised on all)."""
    payload: dict[str, Any] | None = None
    fitted = None
    if ctx.main:
        try:
            fitted = fit_codec_stream(data, schema, split, **options)
            payload = {"codec": fitted.codec.to_dict(), "counts": fitted.counts}
        except (DataError, ValueError) as exc:
            if not ctx.distributed:
                raise
            payload = {"error": str(exc), "kind": type(exc).__name__}
    payload = parallel.broadcast_json(ctx, payload)
    if "error" in payload:
        raise (DataError if payload["kind"] == "DataError" else ValueError)(payload["error"])
    payload["fitted"] = fitted
    return payload


def _packed(codec, frame, source: str, skip_bad_rows: bool) -> np.ndarray:
    encoded = codec.encode(frame, source=source)
    if encoded.problems and not skip_bad_rows:
        encoded.raise_for_problems(source)
    return encoded.good


def id_columns(schema: Any) -> tuple[str, ...]:
    """The id columns a ``schema`` parameter names (a dict or a TableSchema)."""
    from latentwatch.data.schema import TableSchema

    if isinstance(schema, dict):
        return tuple(schema.get("id_columns", ()))
    if isinstance(schema, TableSchema):
        return tuple(schema.id_columns)
    return ()


def prepare_stream(path_or_glob: str | Path, *, schema: Any, strategy, seed: int,
                   validation_fraction: float, training: TrainingConfig, ctx: Context,
                   codec_options: dict[str, Any], fmt: str | None = None,
                   chunk_rows: int = CHUNK_ROWS, shuffle_rows: int = SHUFFLE_ROWS,
                   max_validation_rows: int = MAX_HELD_OUT_ROWS,
                   max_calibration_rows: int = MAX_HELD_OUT_ROWS,
                   sample_rows: int = SCHEMA_SAMPLE_ROWS, skip_bad_rows: bool = False,
                   num_workers: int = 0, text_columns: tuple[str, ...] = ()
                   ) -> tuple[Any, PreparedRows, dict[str, Any]]:
    """The fitted codec, the prepared rows and the run's fingerprint (what a checkpoint
    must match) of a dataset; see the module docstring.

    Only rank 0 holds held-out rows; every rank gets the codec and its own batches.
    """
    data = TableDataset(path_or_glob, fmt=fmt, chunk_rows=chunk_rows,
                        text_columns=tuple(dict.fromkeys((*id_columns(schema), *text_columns))))
    split = _split_for(data, strategy, seed, validation_fraction, max_validation_rows,
                      max_calibration_rows)
    stats = _statistics(ctx, data, schema, split, sample_rows=sample_rows,
                        skip_bad_rows=skip_bad_rows, **codec_options)
    codec = codec_from_dict(stats["codec"])
    fitted, source = stats["fitted"], data.path
    validation = calibration = sample = np.zeros((0, codec.packed_width))
    if ctx.main:
        validation = _packed(codec, fitted.validation, source, skip_bad_rows)
        calibration = _packed(codec, fitted.calibration, source, skip_bad_rows)
        sample = _packed(codec, fitted.training_sample, source, skip_bad_rows)
    n_train = int(stats["counts"]["train"])
    batch = resolve_batch_size(training, n_train)
    rows = StreamingRows(data, codec, split, batch_size=math.ceil(batch / ctx.world_size),
                         seed=seeds.stream(seed, "shuffle"), rank=ctx.rank,
                         world_size=ctx.world_size, shuffle_rows=shuffle_rows,
                         skip_bad_rows=skip_bad_rows, num_workers=num_workers)

    def batches(epoch: int):
        rows.set_epoch(epoch)
        if num_workers == 0:
            return rows
        return torch.utils.data.DataLoader(rows, batch_size=None, num_workers=num_workers)

    prepared = PreparedRows(batches=batches, n_train=n_train, validation=validation,
                            calibration=calibration, train_sample=sample, fit_sample=sample,
                            counts=dict(stats["counts"]))
    fingerprint = {"data": data.fingerprint(), "codec": stats["codec"], "seed": seed,
                   "world_size": ctx.world_size, "split": split.to_dict(), "batch": batch,
                   "shuffle_rows": shuffle_rows, "chunk_rows": chunk_rows,
                   "num_workers": num_workers}
    return codec, prepared, fingerprint
