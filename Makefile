# The two commands: `make run` starts the whole system, `make test` runs every test.
PY := .venv/bin/python
PORT ?= 8000
PYTEST_ARGS ?=
# pytest-xdist workers for `make test` (the CI machine has two cores). PYTEST_WORKERS=0, or -n 0 in
# PYTEST_ARGS, runs everything in one process (needed for --pdb).
PYTEST_WORKERS ?= 2
BENCH_ARGS ?=

.PHONY: install run test lint bench

install: .venv/.installed

.venv/.installed: requirements.lock package-lock.json scripts/install.sh
	scripts/install.sh

run: install
	PORT=$(PORT) $(PY) scripts/run.py

test: install
	$(PY) scripts/devservices.py -- $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# The benchmark (docs/benchmarks.md): builds or reuses the small and large tiers in their own databases,
# measures, runs the HTTP load, prints the table and writes bench/results/. BENCH_ARGS="--skip-load" etc.
bench: install
	$(PY) scripts/devservices.py -- $(PY) -m bench $(BENCH_ARGS)

lint: install
	.venv/bin/ruff check .
