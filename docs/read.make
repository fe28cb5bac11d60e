# --- reader (docs/read.md) -------------------------------------------------------------------------------
# The default reader: packaged all-MiniLM-L6-v2 + span head, trained on cloze questions generated from the
# real Wikipedia sample in ../shared/. A build artefact (artifacts/ is git-ignored); remade only when missing.
# Override SHARED=/path/to/shared or READER_MINUTES=N (training time budget) on the command line.
SHARED ?= ../shared
WIKI_XML ?= $(SHARED)/data/wikipedia/enwiki-2016-sample.xml.bz2
WIKI_KB ?= artifacts/wiki-kb
READER ?= artifacts/reader-minilm
READER_MINUTES ?= 13

reader: $(READER)/kvqae_reader.json

$(WIKI_KB)/meta.json: | $(STAMP)
	$(BIN)/kvqae kb build $(WIKI_XML) --out $(WIKI_KB)

$(READER)/kvqae_reader.json: $(WIKI_KB)/meta.json | $(STAMP)
	$(BIN)/kvqae train reader --kb $(WIKI_KB) --generate-cloze 1000 --out $(READER) \
		--relevant 1 --irrelevant 2 --max-length 192 --freeze-embeddings --batch-questions 4 --lr 3e-4 \
		--warmup 0.05 --epochs 1 --val-fraction 0.15 --max-eval-questions 60 --eval-every 40 \
		--max-minutes $(READER_MINUTES) --threads 1 --seed 0 --resume
