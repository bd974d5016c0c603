# CityHive: `make run` serves the app, `make test` checks everything. Each does its own set-up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.9.30
# uv from the PATH, or one installed for this project under .tools/ the first time.
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
export UV_NO_PROGRESS := 1
# Installed packages come with their bytecode: every Python process of the tests (workers, the
# e2e servers, the commands they run) would otherwise compile its imports again where
# PYTHONDONTWRITEBYTECODE is set, about two seconds each.
export UV_COMPILE_BYTECODE := 1

.PHONY: help run test lint format unit e2e deps system-deps browser bench load lighthouse db-start db-stop clean

help:
	@echo "make run    serve CityHive at http://localhost:8080 (HOST, PORT, DATABASE_URL optional)"
	@echo "make test   lint, unit and end-to-end tests against a throwaway PostGIS database"
	@echo "make bench  benchmarks, results in docs/benchmarks.md"
	@echo "make load   200 connections for 60 s, then the database stopped and the app killed"
	@echo "            under load (bench/load.py, bench/faults.py); results in docs/benchmarks.md"
	@echo "make lighthouse  Lighthouse 12.2.3 (npx) on Today, the map, a hive, a form, mobile;"
	@echo "            results in docs/benchmarks.md"

run: deps
	TEMPLATES_RELOAD=true $(UV) run --locked python -m app run  # edited templates show at once

# pytest-xdist: a worker per CPU, each with its own test databases and e2e server; whole files
# (tests/conftest.py makes each file a group; a long walk's shards are groups of their own) in
# the order collected, so each worker runs its share of the e2e files before any unit file.
PARALLEL := -n auto --dist loadgroup --no-loadscope-reorder

test: deps browser lint
	$(UV) run --locked pytest $(PARALLEL) --cov --cov-report=term-missing:skip-covered

lint: deps
	$(UV) run --locked ruff check .
	$(UV) run --locked ruff format --check .
	$(UV) run --locked mypy

format: deps
	$(UV) run --locked ruff check --fix .
	$(UV) run --locked ruff format .

unit: deps
	$(UV) run --locked pytest $(PARALLEL) tests/unit

e2e: deps browser
	$(UV) run --locked pytest $(PARALLEL) tests/e2e

# Load and faults: a few minutes; the fault run has a PostgreSQL cluster of its own.
load: deps
	$(UV) run --locked python bench/load.py && $(UV) run --locked python bench/faults.py

# Lighthouse through npx (the npm registry, the first time) against the system Chromium.
lighthouse: deps
	$(UV) run --locked python bench/lighthouse.py

bench: deps
	$(UV) run --locked python bench/home_page.py && $(UV) run --locked python bench/geojson.py \
		&& $(UV) run --locked python bench/today.py \
		&& $(UV) run --locked python bench/ingest.py && $(UV) run --locked python bench/charts.py \
		&& $(UV) run --locked python bench/density.py && $(UV) run --locked python bench/i18n.py

deps: system-deps $(UV)
	$(UV) sync --locked

system-deps:
	@bash scripts/system-deps.sh $(if $(filter test e2e,$(MAKECMDGOALS)),--browser) \
		$(if $(filter bench load,$(MAKECMDGOALS)),--bench)

# The system Chromium where there is one (its headless shell first); elsewhere Playwright's own.
browser: deps
	@if command -v chromium-headless-shell >/dev/null 2>&1 || command -v chromium >/dev/null 2>&1 \
		|| command -v chromium-browser >/dev/null 2>&1; then \
		echo "Using the system Chromium for the end-to-end tests"; \
	else \
		$(UV) run --locked playwright install $(if $(filter 0,$(shell id -u)),--with-deps) chromium; \
	fi

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

db-start: deps
	$(UV) run --locked python -m app db start

db-stop: deps
	$(UV) run --locked python -m app db stop

clean:
	-$(UV) run --locked python -m app db stop
	rm -rf .data .venv .tools .pytest_cache .ruff_cache .coverage htmlcov
