# Two commands on a fresh clone: `make demo` and `make test`. Each installs what it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
export YOLO_OFFLINE := 1
export NUMBA_CACHE_DIR := $(CURDIR)/var/numba-cache
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: venv sysdeps sysdeps-test demo test check bench format clean train

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

# The browser tests need Debian's chromium (large), so only the test path installs it.
sysdeps-test:
	CORRIDOR_BROWSER=1 bash scripts/ensure-system-deps

test: venv sysdeps-test
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

# The vision region detector: torch + ultralytics in their own venv (never at run time).
# TRAIN_ARGS="--images 2400 --hours 1.25" bounds it; see vision/models/README.md.
TRAIN_VENV ?= .venv-train
train:
	CORRIDOR_EXTRA_DEBS="fonts-dejavu-core" bash scripts/ensure-system-deps
	test -x $(TRAIN_VENV)/bin/python || $(PYTHON) -m venv $(TRAIN_VENV)
	$(TRAIN_VENV)/bin/pip install -q torch==2.14.1 torchvision==0.29.1
	$(TRAIN_VENV)/bin/pip install -q -e '.[train]'
	nice -n 15 $(TRAIN_VENV)/bin/python -m vision.train $(TRAIN_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
