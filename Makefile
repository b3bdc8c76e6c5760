# One command to set up and run the demo, one to set up and run the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

GEN_VENV := .venv-gen

.PHONY: demo test setup docs browser bench-setup bench-gen-setup bench-gen spark-test lint clean

# apt-get runs as root, or through sudo when there is one
SUDO := $(shell [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && echo sudo)

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned, so pip takes the CPU wheel instead of pulling CUDA packages
	$(BIN)/pip install --quiet torch==2.13.0

setup: $(BIN)/activate
	$(BIN)/pip install --quiet -e ".[test]"

demo: setup
	$(BIN)/latentwatch demo

# The documentation site (mkdocs.yml, docs/, the API reference from the docstrings), built
# with warnings as errors so that no page, link or docstring goes stale.
docs: setup
	$(BIN)/pip install --quiet -e ".[test,docs]"
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

# The browser tests (the HTML report, the service's /docs) run headless Chromium: Debian's
# chromium package, installed with apt-get when missing (as root, or with sudo); without
# apt-get they are skipped and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
		if command -v apt-get >/dev/null 2>&1; then \
			echo "chromium not found: installing Debian's chromium with apt-get"; \
			$(SUDO) apt-get update -qq && \
			$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else echo "chromium not found and no apt-get: the browser tests will be skipped"; fi; }

test: docs browser
	$(BIN)/ruff check .
	$(BIN)/pytest -q

bench-setup: setup
	$(BIN)/pip install --quiet -e ".[bench]"

# The generative benchmark against SDV (TVAE, GaussianCopula) and SDMetrics, in a venv of
# its own: SDV needs pandas < 3 and is benchmark-only (Business Source License).
$(GEN_VENV)/bin/activate:
	$(PYTHON) -m venv $(GEN_VENV)
	$(GEN_VENV)/bin/pip install --quiet --upgrade pip
	$(GEN_VENV)/bin/pip install --quiet torch==2.13.0

bench-gen-setup: $(GEN_VENV)/bin/activate
	$(GEN_VENV)/bin/pip install --quiet torch==2.13.0 -e ".[bench,gen-bench]"

bench-gen: bench-gen-setup
	$(GEN_VENV)/bin/python -m benchmarks.generation.generative_quality --out results/generative_quality.md

# The Spark adapter's tests (tests/spark, skipped by `make test`): the spark extra, and Java,
# installed with apt-get when `java -version` fails (as root, or with sudo).
SPARK_EXTRA ?= -e ".[spark]"

spark-test: setup
	$(BIN)/pip install --quiet $(SPARK_EXTRA)
	@java -version >/dev/null 2>&1 || { \
		echo "java not found: installing openjdk-17-jre-headless with apt-get"; \
		$(SUDO) apt-get update && $(SUDO) apt-get install -y openjdk-17-jre-headless; }
	java -version
	LATENTWATCH_SPARK_TESTS=1 $(BIN)/pytest -q tests/spark

clean:
	rm -rf $(VENV) $(GEN_VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
