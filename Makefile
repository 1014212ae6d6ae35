# cardiorehab: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CARDIO := $(BIN)/cardiorehab
STAMP := $(VENV)/.installed
VENDOR_STAMP := dashboard/static/vendor/.installed
PATIENTS ?= 12
PYTEST_ARGS ?=

.PHONY: help setup run test lint unit integration e2e bench stack-up stack-down stack-status clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

setup: $(STAMP) $(VENDOR_STAMP) ## create .venv and install Python and dashboard dependencies (only what is missing)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11+)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

$(VENDOR_STAMP): dashboard/package.json dashboard/package-lock.json
	cd dashboard && npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/python -m dashboard.vendor
	@touch $@

run: setup ## start the stack, worker, sink, API and $(PATIENTS) simulated patients; Ctrl-C stops them
	$(CARDIO) run --patients $(PATIENTS)

test: setup lint unit integration ## lint, unit tests, then integration and end-to-end tests on the real stack

lint: setup ## ruff, formatting, mypy and the layering contract
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: setup ## unit tests of pure logic (no stack needed)
	$(BIN)/pytest tests/unit -q $(PYTEST_ARGS)

integration: setup ## integration + e2e tests; starts the stack if needed and stops what it started
	$(CARDIO) stack exec -- $(BIN)/pytest tests/integration tests/e2e -q $(PYTEST_ARGS)

bench: setup ## benchmarks named in the issues; results in bench/results/*.json and docs/benchmarks.md
	$(CARDIO) stack exec -- $(BIN)/python -m bench.run_all

stack-up: setup ## start Kafka and TimescaleDB (idempotent)
	$(CARDIO) stack up

stack-down: setup ## stop what `stack-up` started
	$(CARDIO) stack down

stack-status: setup ## what runs where
	$(CARDIO) stack status

clean: ## remove the virtualenv, caches and the local stack's data (stop the stack first)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis dashboard/node_modules dashboard/static/vendor
