"""Helpers of the streaming tests."""

import pandas as pd

SCHEMA = {"id_columns": ["transaction_id"], "exclude": ["customer_id"]}


def write_parts(frame: pd.DataFrame, folder, n_files: int, row_group_size: int,
                fmt: str = "parquet") -> list:
    """``frame`` cut into ``n_files`` files (Parquet row groups of ``row_group_size``)."""
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(frame) // n_files)
    paths = []
    for k in range(n_files):
        part = frame.iloc[k * size:(k + 1) * size]
        path = folder / f"part-{k:02d}.{fmt}"
        if fmt == "parquet":
            part.to_parquet(path, row_group_size=row_group_size, index=False)
        else:
            part.to_csv(path, index=False)
        paths.append(path)
    return paths
