"""The Spark tests run only with ``LATENTWATCH_SPARK_TESTS=1`` (``make spark-test``), pyspark
installed and Java on the PATH; CI skips them."""

from __future__ import annotations

import os
import shutil
import sys

import pytest

if os.environ.get("LATENTWATCH_SPARK_TESTS") != "1":
    pytest.skip("Spark tests run with LATENTWATCH_SPARK_TESTS=1 (make spark-test)",
                allow_module_level=True)
pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java (make spark-test installs it)", allow_module_level=True)


@pytest.fixture(scope="session")
def spark():
    """A local Spark session of 2 cores bound to 127.0.0.1, without its web UI."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (SparkSession.builder.master("local[2]").appName("latentwatch-tests")
               .config("spark.driver.host", "127.0.0.1")
               .config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", "2")
               .getOrCreate())
    yield session
    session.stop()
