# One command to set up and run the demo, one to set up and run the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test setup bench-setup lint clean

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

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
