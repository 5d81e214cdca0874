# Targets named in the README. `make setup` installs everything a fresh clone needs.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip

.PHONY: setup main test lint bench-solvers bench-analog bench-stability

setup:
	bash .ci/setup.sh

main: setup
	hadeq bench --suite quick --jobs 2

test: setup
	$(PYTHON) -m pytest -q

lint:
	ruff check src tests benchmarks scripts

bench-solvers:
	$(PYTHON) benchmarks/solvers.py --out results/benchmarks/solvers.json

bench-analog:
	$(PYTHON) benchmarks/analog.py --repeats 5 --threads 1 --out results/benchmarks/analog.json

bench-stability:
	$(PYTHON) benchmarks/stability.py --out results/benchmarks/stability.json
