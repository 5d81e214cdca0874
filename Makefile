# Targets named in the README. `make setup` installs everything a fresh clone needs: the
# Debian packages (apt, as root) and a project virtual environment, $(VENV), holding torch
# and hadeq; every other target runs inside that environment, never the system Python.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
# Subprocesses (the tests run `hadeq`) find the environment's scripts first.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup main test lint bench-solvers bench-analog bench-stability

setup:
	VENV=$(VENV) bash .ci/setup.sh

main: setup
	$(VENV)/bin/hadeq bench --suite quick --jobs 2

test: setup
	$(PYTHON) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks scripts

bench-solvers: setup
	$(PYTHON) benchmarks/solvers.py --out results/benchmarks/solvers.json

bench-analog: setup
	$(PYTHON) benchmarks/analog.py --repeats 5 --threads 1 --out results/benchmarks/analog.json

bench-stability: setup
	$(PYTHON) benchmarks/stability.py --out results/benchmarks/stability.json
