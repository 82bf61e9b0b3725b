# Two commands on a fresh clone: `make demo` and `make test`. Each installs what it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
export YOLO_OFFLINE := 1
export NUMBA_CACHE_DIR := $(CURDIR)/var/numba-cache
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: venv sysdeps demo test check bench format clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,vision]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

sysdeps:
	bash scripts/ensure-system-deps

demo: venv sysdeps
	$(BIN)/corridor demo

test: venv sysdeps
	$(BIN)/python -m pytest -q

check: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/corridor contract asyncapi --check

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv sysdeps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
