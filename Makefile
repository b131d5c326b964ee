# The two commands of the README, each working from a fresh clone and safe to repeat:
#   make book   build the executed tutorial book into _build/html
#   make test   run the test suite (package tests + notebooks executed and validated)
# Both create .venv with the pinned CI requirements on first use (about 2 minutes).
#
# Data: the notebooks and tests read THREEKG_DATA_DIR. When it is unset and a folder
# ../shared/data exists beside the repository, that folder is used.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.threekg-installed

ifeq ($(strip $(THREEKG_DATA_DIR)),)
ifneq ($(wildcard ../shared/data/ptb-xl),)
export THREEKG_DATA_DIR := $(abspath ../shared/data)
endif
endif

.PHONY: install book test lint bench clean help

help:
	@echo "make book   build the executed book (_build/html/index.html)"
	@echo "make test   run the tests"
	@echo "make lint   ruff check + format check"
	@echo "make bench  data-path, synthetic-generator and augmentation benchmarks"

install: $(STAMP)

$(STAMP): requirements-ci.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-ci.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

# --all: every page rebuilt and every chapter re-executed, also when only the package changed
# (Sphinx alone would rebuild only the pages whose sources changed).
book: install
	@echo "data directory: $${THREEKG_DATA_DIR:-none (synthetic data)}"
	$(BIN)/jupyter-book build . --all --warningiserror --nitpick --keep-going
	@touch _build/.book-built  # when the book was last built whole (the browser test reads it)
	@echo "book: $(CURDIR)/_build/html/index.html"

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python benchmarks/bench_data.py
	$(BIN)/python benchmarks/bench_synthetic.py
	$(BIN)/python benchmarks/bench_augment.py

clean:
	rm -rf _build .pytest_cache .ruff_cache
