# make demo  -> LoRA fine-tuning of the bundled MiniLM on Financial PhraseBank, evaluated and reported
# make test  -> the test suite (fast by default; `make test-slow` runs the slow ones too)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA_DIR ?= $(or $(FINTUNE_DATA_DIR),$(abspath $(wildcard ../shared/datasets)))

.PHONY: install demo test test-slow lint clean

install: $(STAMP)

# torch first and pinned: an unpinned torch pulls several GB of CUDA packages.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

demo: install
	FINTUNE_DATA_DIR=$(DATA_DIR) $(VENV)/bin/fintune run configs/quickstart.yaml overwrite=true

test: install
	FINTUNE_DATA_DIR=$(DATA_DIR) $(PY) -m pytest

test-slow: install
	FINTUNE_DATA_DIR=$(DATA_DIR) $(PY) -m pytest -m "slow or not slow"

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
