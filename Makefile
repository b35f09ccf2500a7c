# The two commands a new user needs: `make quickstart` and `make test`.
# Each creates .venv on first use and installs the project from its own files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export OMP_NUM_THREADS ?= 1
export RAY_AUTH_MODE ?= disabled

.PHONY: quickstart test test-all clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, exactly pinned: any other version pulls gigabytes of CUDA packages.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c .ci/constraints.txt -e '.[test,qiskit]'
	@if $(BIN)/pip list 2>/dev/null | grep -qi '^nvidia-'; then echo "CUDA packages were pulled in"; exit 1; fi
	touch $(STAMP)

## quickstart: search the moons task (20 trials, 2 Ray workers), then export the best model.
quickstart: $(STAMP)
	$(BIN)/qnas search --task moons --trials 20 --workers 2 --study quickstart --seed 0
	$(BIN)/qnas export --study quickstart --out qnas_runs/quickstart-best

## test: the fast test suite (a few minutes on 2 cores).
test: $(STAMP)
	$(BIN)/python -m pytest -q

## test-all: every test, the slow ones included.
test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m ''

clean:
	rm -rf $(VENV) qnas_runs build dist *.egg-info
