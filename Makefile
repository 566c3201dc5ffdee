# Set-up and everyday commands. A virtual environment in .venv holds every dependency; constraints.txt
# pins the whole dependency tree (regenerate with: .venv/bin/pip freeze --exclude-editable > constraints.txt).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install serve build test test-fast lint format clean

# Two installs into the one .venv: what serving needs (the package and its dependencies), and on top of it
# what the tests and benchmarks need (the test extra: Playwright, uvicorn, hypothesis and more).
SERVING := $(VENV)/.installed-serving
TESTING := $(VENV)/.installed-test
# grlc, which the tests run against kg serve, pins a gunicorn other than kg's: it gets its own environment.
GRLC := .venv-grlc/.installed

$(SERVING): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(TESTING): $(SERVING)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

$(GRLC): requirements-grlc.txt
	$(PYTHON) -m venv .venv-grlc
	.venv-grlc/bin/pip install --quiet --upgrade pip
	.venv-grlc/bin/pip install --quiet -r requirements-grlc.txt
	touch $@

install: $(TESTING) $(GRLC)

build: $(SERVING)
	$(BIN)/kg build

# Builds the graph into the embedded store, then serves it; kg serve prints the home page's address.
serve: build
	$(BIN)/kg serve

# Python's bytecode cache stays on for the tests even where PYTHONDONTWRITEBYTECODE is set: the suite
# starts a few hundred Python processes (servers, imports, the CLI), and without the cache each one would
# compile the project's modules again (and pytest rewrite the test modules again in every worker).
test: install
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest

# The suite without the tests marked slow (servers under load, browsers, the W3C suites, benchmarks'
# harnesses): a quick check while working; `make test` is what CI runs.
test-fast: install
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -m "not slow"

# The checks CI runs before the tests (the same as .pre-commit-config.yaml): ruff's lint and format, mypy.
lint: install
	$(BIN)/ruff check kg tests bench scripts
	$(BIN)/ruff format --check kg tests bench scripts
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix kg tests bench scripts
	$(BIN)/ruff format kg tests bench scripts

clean:
	rm -rf var .pytest_cache
