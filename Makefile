# Set-up and everyday commands. A virtual environment in .venv holds every dependency; constraints.txt
# pins the whole dependency tree (regenerate with: .venv/bin/pip freeze --exclude-editable > constraints.txt).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install serve build test clean

$(BIN)/kg: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(BIN)/kg

install: $(BIN)/kg

build: install
	$(BIN)/kg build

# Builds the graph into the embedded store, then serves it at http://127.0.0.1:8000/sparql.
serve: build
	$(BIN)/kg serve

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf var .pytest_cache
