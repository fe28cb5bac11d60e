# kvqae: the two entry points are `make demo` (set up + run the main job) and `make test` (set up + run the tests).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kvqae-installed
DEMO_OUT ?= demo-output

.PHONY: setup demo test test-all lint bench reader clean

setup: $(STAMP)

# torch is installed first and pinned with a constraint so no later install can swap in another build.
$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -r requirements.txt -r requirements-dev.txt
	$(BIN)/python -m pip install -q -c constraints.txt --no-deps -e .
	$(BIN)/python -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	touch $(STAMP)

demo: setup
	$(BIN)/kvqae demo --out $(DEMO_OUT)

test: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q

test-all: setup
	$(BIN)/python -m pytest -q -m ""

lint: setup
	$(BIN)/ruff check src tests benchmarks

bench: setup
	$(BIN)/python benchmarks/bench_search_p1.py
	$(BIN)/python benchmarks/bench_fusion_p2.py
	$(BIN)/python benchmarks/bench_encode_p3.py

clean:
	rm -rf $(DEMO_OUT) .pytest_cache .ruff_cache
