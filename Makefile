# Every target installs what it needs into .venv first, so a fresh machine needs only Python.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m infra.local.stack

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy chalicelib

test: $(STAMP) lint
	$(BIN)/python -m pytest --cov=chalicelib --cov-report=term

bench: $(STAMP)
	$(BIN)/python -m tests.perf.bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage chalice.out cdk.out
