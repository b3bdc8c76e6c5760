"""Result rows cached on disk: one JSON file per row, named by what identifies the row.

The ADBench peers' rows live in ``results/.cache/`` (``--cache``), named
``DATASET__METHOD__sSEED__SETTING__KEY.json`` where ``KEY`` is
``benchmarks.detection.protocol.cache_key`` (data fingerprint, library versions,
threads, protocol version): a row is reused only where all of them match.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RowId = tuple[str, str, int, str]  # dataset, setting, seed, method


class PeerCache:
    """JSON files, one per result row; ``root=None`` (``--no-cache``) caches nothing."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        if root is not None:
            root.mkdir(parents=True, exist_ok=True)

    def _path(self, row_id: RowId, key: str) -> Path:
        assert self.root is not None
        dataset, setting, seed, method = row_id
        return self.root / f"{dataset}__{method}__s{seed}__{setting}__{key}.json"

    def get(self, row_id: RowId, key: str) -> dict[str, Any] | None:
        """Cached result row, or None."""
        if self.root is None:
            return None
        path = self._path(row_id, key)
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def put(self, row_id: RowId, key: str, row: dict[str, Any]) -> None:
        """Store a successful result row (failures are not cached, so they are retried)."""
        if self.root is None or row["error"]:
            return
        path = self._path(row_id, key)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(row, default=float))
        tmp.replace(path)
