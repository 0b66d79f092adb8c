# tfapps — every target installs what it needs first (a .venv with `pip install -e .[dev]`).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test test-fast test-bench train-all lint bench bench-gpu bench-smoke clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The product's tests; bench/'s own are marked `bench` and run in test-bench. A run that
# selects no test fails (pytest's exit status 5).
test: $(STAMP)
	$(BIN)/python -m pytest -m "not bench"

# The inner loop (under 30 s on 2 cores): leaves out the tests marked `slow` (those that fit,
# export or serve a model, build a backbone or start processes), which only `test` runs.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not bench"

test-bench: $(STAMP)
	$(BIN)/python -m pytest -m bench

train-all: $(STAMP)
	$(BIN)/tfapps train-all

lint: $(STAMP)
	$(BIN)/ruff check tfapps tests bench
	$(BIN)/ruff format --check tfapps tests bench

bench: $(STAMP)
	$(BIN)/python -m bench.run_benchmarks $(BENCH_ARGS)

bench-gpu: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,gpu]'
	$(BIN)/python -m bench.run_benchmarks $(BENCH_ARGS)

bench-smoke: test-bench
	$(BIN)/python -m bench.run_benchmarks --smoke $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
