"""Fixtures of the Dask tests: one local cluster of 2 worker processes (127.0.0.1) for
the module, a small fitted model and a transactions table in Parquet files."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("distributed")


@pytest.fixture(scope="session")
def dask_client():
    """The local cluster of ``latentwatch score --engine dask --workers 2``."""
    from latentwatch.cli.dask_engine import dask_client as local_client

    with local_client(None, 2) as client:
        client.wait_for_workers(2)
        yield client


@pytest.fixture(scope="session")
def transactions():
    from latentwatch.demos.datasets import make_transactions

    frame, _ = make_transactions(2400, seed=3)
    return frame


@pytest.fixture(scope="session")
def fitted(transactions, tmp_path_factory):
    """(detector, model file) of a small VAE fitted on the transactions."""
    from latentwatch import VAEDetector

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = VAEDetector(schema={"id_columns": ["transaction_id"],
                                    "exclude": ["customer_id"]},
                            max_epochs=2, random_state=0).fit(transactions.iloc[:1500])
    path = model.save(tmp_path_factory.mktemp("model") / "model.lwm")
    return model, path


@pytest.fixture
def parquet_files(transactions, tmp_path):
    """Three Parquet files of 800 rows, row groups of 250 rows."""
    folder = tmp_path / "data"
    folder.mkdir()
    paths = []
    for i in range(3):
        path = folder / f"t{i}.parquet"
        transactions.iloc[800 * i:800 * (i + 1)].to_parquet(path, row_group_size=250,
                                                            index=False)
        paths.append(path)
    return paths
