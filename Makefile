# One command to set up and run the demo, one to set up and run the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test setup bench-setup spark-test lint clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned, so pip takes the CPU wheel instead of pulling CUDA packages
	$(BIN)/pip install --quiet torch==2.13.0

setup: $(BIN)/activate
	$(BIN)/pip install --quiet -e ".[test]"

demo: setup
	$(BIN)/latentwatch demo

test: setup
	$(BIN)/ruff check .
	$(BIN)/pytest -q

bench-setup: setup
	$(BIN)/pip install --quiet -e ".[bench]"

# The Spark adapter's tests (tests/spark, skipped by `make test`): the spark extra, and Java,
# installed with apt-get when `java -version` fails (as root, or with sudo).
SPARK_EXTRA ?= -e ".[spark]"
SUDO := $(shell [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && echo sudo)

spark-test: setup
	$(BIN)/pip install --quiet $(SPARK_EXTRA)
	@java -version >/dev/null 2>&1 || { \
		echo "java not found: installing openjdk-17-jre-headless with apt-get"; \
		$(SUDO) apt-get update && $(SUDO) apt-get install -y openjdk-17-jre-headless; }
	java -version
	LATENTWATCH_SPARK_TESTS=1 $(BIN)/pytest -q tests/spark

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
