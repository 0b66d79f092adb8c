# tfapps — every target installs what it needs first (a .venv with `pip install -e .[dev]`).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test train-all lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

train-all: $(STAMP)
	$(BIN)/tfapps train-all

lint: $(STAMP)
	$(BIN)/ruff check tfapps tests bench
	$(BIN)/ruff format --check tfapps tests bench

bench: $(STAMP)
	$(BIN)/python bench/run_benchmarks.py

clean:
	rm -rf $(VENV) build *.egg-info
