# Targets named in the README. `make setup` installs everything a fresh clone needs.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip

.PHONY: setup main test lint bench-solvers bench-analog

setup:
	bash .ci/setup.sh

main: setup
	hadeq demo --seed 0

test: setup
	$(PYTHON) -m pytest -q

lint:
	ruff check src tests benchmarks

bench-solvers:
	$(PYTHON) benchmarks/solvers.py --out results/benchmarks/solvers.json

bench-analog:
	$(PYTHON) benchmarks/analog.py --out results/benchmarks/analog.json
