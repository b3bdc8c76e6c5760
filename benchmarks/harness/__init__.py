"""What every benchmark shares: one argument parser, thread limits, tables, caches, memory.

Only the standard library is imported here (``cli``, ``threads``): a benchmark limits its
threads before numpy, scikit-learn or torch are first imported. The rest is imported from
its module: ``tables`` (markdown tables), ``cache`` (one JSON file per result row),
``memory`` (peak resident memory of a phase).
"""

from benchmarks.harness.cli import BenchmarkParser, new_parser
from benchmarks.harness.threads import configure_threads, limit_threads, use_threads

__all__ = ["BenchmarkParser", "configure_threads", "limit_threads", "new_parser", "use_threads"]
