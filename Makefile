# Targets named in the README. `make setup` installs everything a fresh clone needs: the
# Debian packages (apt, as root) and a project virtual environment, $(VENV), holding torch
# and hadeq; every other target runs inside that environment, never the system Python.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
# Subprocesses (the tests run `hadeq`) find the environment's scripts first.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup main test lint bench-solvers bench-analog bench-stability benchmarks

setup:
	VENV=$(VENV) bash .ci/setup.sh

main: setup
	$(VENV)/bin/hadeq bench --suite quick --jobs 2

test: setup
	$(PYTHON) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks scripts examples

bench-solvers: setup
	$(PYTHON) benchmarks/solvers.py --out results/benchmarks/solvers.json

bench-analog: setup
	$(PYTHON) benchmarks/analog.py --threads 1 --out results/benchmarks/analog.json

bench-stability: setup
	$(PYTHON) benchmarks/stability.py --out results/benchmarks/stability.json

# Every script in benchmarks/ on one thread, into the committed snapshot, then the README's
# "Other benchmarks" section regenerated from it. aihwkit-lightning is optional: without
# it the analog script reports it missing and its tables have no column for it.
BENCH_OUT := snapshots/benchmarks
benchmarks: setup
	$(PYTHON) benchmarks/solvers.py --threads 1 --out $(BENCH_OUT)/solvers_default.json
	$(PYTHON) benchmarks/solvers.py --threads 1 --torchdeq-lam 1e-8 --out $(BENCH_OUT)/solvers_best.json
	$(PYTHON) benchmarks/analog.py --threads 1 --out $(BENCH_OUT)/analog.json
	$(PYTHON) benchmarks/deq_training.py --threads 1 --out $(BENCH_OUT)/deq_training.json
	$(PYTHON) benchmarks/stability.py --threads 1 --out $(BENCH_OUT)/stability.json
	$(PYTHON) benchmarks/physical_eval.py --out $(BENCH_OUT)/physical_eval.json
	$(PYTHON) -m hadeq.bench.publish $(BENCH_OUT)
