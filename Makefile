# The two commands: `make run` starts the whole system, `make test` runs every test.
PY := .venv/bin/python
PORT ?= 8000
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: install run test lint bench

install: .venv/.installed

.venv/.installed: requirements.lock package-lock.json scripts/install.sh
	scripts/install.sh

run: install
	PORT=$(PORT) $(PY) scripts/run.py

test: install
	$(PY) scripts/devservices.py -- $(PY) -m pytest $(PYTEST_ARGS)

# The benchmark (docs/benchmarks.md): builds or reuses the small and large tiers in their own databases,
# measures, runs the HTTP load, prints the table and writes bench/results/. BENCH_ARGS="--skip-load" etc.
bench: install
	$(PY) scripts/devservices.py -- $(PY) -m bench $(BENCH_ARGS)

lint: install
	.venv/bin/ruff check .
