"""latentwatch's benchmarks: a harness and one folder per question.

``harness/`` holds what every benchmark shares (one argument parser, thread limits,
tables, the result cache, peak memory); ``detection/``, ``series/``, ``generation/``,
``scale/`` and ``speed/`` hold the benchmarks, each run as
``python -m benchmarks.<folder>.<name>`` (see ``benchmarks/README.md``). Nothing heavy is
imported here, so that a benchmark can limit BLAS and torch threads before numpy and torch
are loaded.
"""
