# One command to set up and run the demo, one to set up and run the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

GEN_VENV := .venv-gen

.PHONY: demo test setup bench-setup bench-gen-setup bench-gen lint clean

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

# The generative benchmark against SDV (TVAE, GaussianCopula) and SDMetrics, in a venv of
# its own: SDV needs pandas < 3 and is benchmark-only (Business Source License).
$(GEN_VENV)/bin/activate:
	$(PYTHON) -m venv $(GEN_VENV)
	$(GEN_VENV)/bin/pip install --quiet --upgrade pip
	$(GEN_VENV)/bin/pip install --quiet torch==2.13.0

bench-gen-setup: $(GEN_VENV)/bin/activate
	$(GEN_VENV)/bin/pip install --quiet torch==2.13.0 -e ".[bench,gen-bench]"

bench-gen: bench-gen-setup
	$(GEN_VENV)/bin/python -m benchmarks.generative_quality --out results/generative_quality.md

clean:
	rm -rf $(VENV) $(GEN_VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
