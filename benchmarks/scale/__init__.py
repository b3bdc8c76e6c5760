"""Larger than memory, several processes, serving: memory, DDP, Dask, the REST server."""
