# kvqae: the two entry points are `make demo` (set up + run the main job) and `make test` (set up + run the tests).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kvqae-installed
DEMO_OUT ?= demo-output

.PHONY: setup demo serve test test-all lint bench bench-serve bench-wiki bench-read reader retriever wiki clean

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

# Serve the demo's output (built first when it has no bundle yet): http://127.0.0.1:8000/
PORT ?= 8000
serve: setup
	test -f $(DEMO_OUT)/bundle.json || $(BIN)/kvqae demo --out $(DEMO_OUT)
	$(BIN)/kvqae serve $(DEMO_OUT) --port $(PORT)

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

bench-serve: setup
	test -f $(DEMO_OUT)/bundle.json || $(BIN)/kvqae demo --out $(DEMO_OUT)
	$(BIN)/python benchmarks/bench_serve.py --bundle $(DEMO_OUT)

clean:
	rm -rf $(DEMO_OUT) .pytest_cache .ruff_cache

# --- reader (docs/read.md) -------------------------------------------------------------------------------
# The default reader: the packaged all-MiniLM-L6-v2's first 4 layers + span head, trained on natural-style
# questions (wh-movement, entity descriptions) generated from the real Wikipedia sample in ../shared/. Build
# artefacts (artifacts/ is git-ignored); remade only when missing. Training stops after READER_STEPS optimizer
# steps (a step budget, not a time budget: the same reader on any machine; ~5 min here, ~13 min on a slower one).
# Override SHARED=/path/to/shared or READER_STEPS=N on the command line.
SHARED ?= ../shared
WIKI_XML ?= $(SHARED)/data/wikipedia/enwiki-2016-sample.xml.bz2
WIKI_KB ?= artifacts/wiki-kb
READER ?= artifacts/reader-minilm
READER_QUESTIONS ?= artifacts/natural-questions.jsonl
READER_STEPS ?= 420

reader: $(READER)/kvqae_reader.json

$(WIKI_KB)/meta.json: | $(STAMP)
	$(BIN)/kvqae kb build $(WIKI_XML) --out $(WIKI_KB)

$(READER_QUESTIONS): $(WIKI_KB)/meta.json | $(STAMP)
	$(BIN)/kvqae reader-data --kb $(WIKI_KB) --out $(READER_QUESTIONS) -n 4000 --style natural --seed 0

$(READER)/kvqae_reader.json: $(READER_QUESTIONS) | $(STAMP)
	$(BIN)/kvqae train reader --kb $(WIKI_KB) --cloze $(READER_QUESTIONS) --out $(READER) --layers 4 \
		--hard-negatives 0.5 --relevant 1 --irrelevant 2 --max-length 128 --read-length 96 --windows-per-passage 1 --read-windows 2 \
		--freeze-embeddings --batch-questions 4 --lr 3e-4 --warmup 0.05 --epochs 1 --val-fraction 0.05 \
		--max-eval-questions 40 --eval-every 100 --max-steps $(READER_STEPS) --threads 2 --seed 0 --resume

# --- text retriever and the natural-question dev set (README: Text retrieval on natural questions) ---------
RETRIEVER ?= artifacts/retriever-minilm

retriever: $(RETRIEVER)/kvqae_retriever.json

$(RETRIEVER)/kvqae_retriever.json: $(WIKI_KB)/meta.json | $(STAMP)
	$(BIN)/kvqae train retriever --kb $(WIKI_KB) --out $(RETRIEVER) --questions 2000 --epochs 2 --seed 0

# The best text system on real Wikipedia text as one pipeline (trained retriever + BM25 + entity contexts,
# fused, re-ranked by term proximity, read): answerable afterwards with `kvqae ask wiki-output -q ...`
wiki: $(READER)/kvqae_reader.json $(RETRIEVER)/kvqae_retriever.json | $(STAMP)
	$(BIN)/kvqae run examples/wiki_pipeline.yaml

bench-wiki: $(READER)/kvqae_reader.json | $(STAMP)
	$(BIN)/python benchmarks/bench_wiki_devset.py --kb $(WIKI_KB) --retriever $(RETRIEVER) --reader $(READER)

# Reading speed (top 8 passages per question, before/after settings side by side)
bench-read: $(READER)/kvqae_reader.json | $(STAMP)
	$(BIN)/python benchmarks/bench_read_speed.py --kb $(WIKI_KB) --reader $(READER)
