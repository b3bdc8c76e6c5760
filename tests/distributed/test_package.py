"""latentwatch.distributed: its names are imported when first used, so that importing the
package imports neither Dask nor Spark."""

import subprocess
import sys

import latentwatch.distributed as package


def test_importing_the_package_imports_neither_dask_nor_spark():
    code = ("import sys, latentwatch.distributed as d; d.ModelBytes; d.plan_partitions; "
            "print(sorted(m for m in ('dask', 'distributed', 'pyspark') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def test_every_public_name_resolves_to_its_module():
    for name in package.__all__:
        value = getattr(package, name)
        assert value is not None and name in dir(package)
    assert package.score_dask.__module__ == "latentwatch.distributed.dask"
    assert package.score_to_parquet.__module__ == "latentwatch.distributed.parts"
    try:
        package.expand_paths  # noqa: B018
    except AttributeError as exc:
        assert "has no attribute 'expand_paths'" in str(exc)
    else:
        raise AssertionError("expand_paths is gone: files are listed by data.files")
