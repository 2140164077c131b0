# retention-warehouse: two commands on a fresh clone
#   make demo   set up, generate a sample shop, build the warehouse, print what was built
#   make test   set up and run the test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SCALE ?= 20000
SEED ?= 42
END_DATE ?= 2026-11-15
DBT := cd dbt_project && ../$(BIN)/dbt

# Absolute data paths: DuckDB views over the raw Parquet files keep the path they were
# built with, so it must not depend on the directory a later query runs from.
export RW_DATA_DIR ?= $(CURDIR)/data
export RW_RAW_DIR ?= $(RW_DATA_DIR)/raw
export RW_TRUTH_DIR ?= $(RW_DATA_DIR)/truth
export RW_DUCKDB_PATH ?= $(RW_DATA_DIR)/warehouse.duckdb

.PHONY: help setup demo generate build campaigns ml report sync docs test test-engines lint bench ui clean

help:
	@echo "make demo   - set up, generate a sample shop (SCALE=$(SCALE) customers), build the warehouse"
	@echo "make test   - set up and run the tests"
	@echo "make test-engines - the dbt build on PostgreSQL and Spark equals DuckDB's (RW_DBT_TARGET=postgres|spark for one)"
	@echo "make bench  - benchmarks at 100k and 1M customers (writes bench/RESULTS.md)"
	@echo "make ui     - the Dagster UI on http://127.0.0.1:3000"
	@echo "make lint   - ruff + sqlfluff"

# The virtual environment is rebuilt whenever pyproject.toml changes.
$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3" "uv==0.13.9"
	# Bytecode compiled once at install: with PYTHONDONTWRITEBYTECODE set, imports would
	# otherwise recompile every module on every run.
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e ".[dev,postgres,spark]"
	touch $@

setup: $(BIN)/.installed

generate: setup
	$(BIN)/rw-ingest generate --customers $(SCALE) --seed $(SEED) --end-date $(END_DATE)

build: setup
	$(DBT) build --quiet --fail-fast

# The demo shop has no marketing platform: simulate one running the warehouse's flows
# (emails to treated entries, planted true effects kept in data/truth), then rebuild so
# the lift models measure them.
campaigns: setup
	$(BIN)/python -m ingest._generator_campaigns --raw-dir $(RW_RAW_DIR) \
		--truth-dir $(RW_TRUTH_DIR) --duckdb $(RW_DUCKDB_PATH)
	$(DBT) build --quiet --fail-fast

# Train (backtest against baselines, promote if not worse), score, rebuild what reads scores.
ml: setup
	$(BIN)/rw-ml train
	$(BIN)/rw-ml score
	$(DBT) build --quiet --fail-fast --select source:ml+

report: setup
	$(BIN)/python -m reports.retention_report --out $(RW_DATA_DIR)/reports/retention.html

# Sync the demo audiences to the local marketing-platform emulator and show what it holds.
sync: setup
	$(BIN)/python -m reverse_etl.demo

docs: setup
	$(DBT) docs generate --quiet

demo: generate build campaigns ml report sync docs
	$(BIN)/python -m orchestration.demo_summary

# Two workers: the suite is mostly dbt builds and servers waiting on I/O. loadgroup keeps
# each engine's cross-engine tests on one worker, so PostgreSQL and Spark build once.
test: setup
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# The dbt build on PostgreSQL (throwaway local cluster) and Spark (local mode), marts
# compared with DuckDB's (also part of `make test`). RW_DBT_TARGET=postgres or spark runs
# one engine (default: both).
test-engines: setup
	RW_TEST_ENGINES=postgres,spark $(BIN)/python -m pytest -n 2 --dist loadgroup tests/cross_engine

# The Dagster UI on http://127.0.0.1:3000 over the demo warehouse (run `make demo` first).
ui: setup
	$(BIN)/python -m orchestration.ui --emulator

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd dbt_project && ../$(BIN)/sqlfluff lint models

bench: setup
	$(BIN)/python -m bench.run

clean:
	rm -rf data dbt_project/target dbt_project/logs
