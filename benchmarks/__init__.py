"""ADBench benchmark harness for latentwatch.

Run with ``python -m benchmarks.detection.adbench --help``. The protocol is described in
``benchmarks/README.md``. This package deliberately imports nothing heavy at import
time so that ``benchmarks.detection.adbench`` can limit BLAS / torch threads before numpy and
torch are loaded.
"""
