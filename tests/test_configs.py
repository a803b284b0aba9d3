"""Every shipped config loads, validates and says how to run it; the LLM grid is complete."""

from pathlib import Path

import pytest
import yaml

from fintune.config import load_config

ROOT = Path(__file__).resolve().parents[1]
SWEEPS = sorted((ROOT / "configs" / "compare").glob("*.yaml"))
SHIPPED = sorted(set((ROOT / "configs").rglob("*.yaml")) - set(SWEEPS))
FAMILIES = ("llama", "qwen2", "mistral", "gpt2", "baichuan2", "chatglm3")
METHODS = ("lora", "lora_plus", "qlora")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_configs_are_shipped():
    assert SHIPPED, "configs/ holds no YAML files"


@pytest.mark.parametrize("path", SHIPPED, ids=_rel)
def test_config_validates_and_its_first_line_runs_it(path):
    load_config(path)  # raises FintuneError naming the key on any unknown key or bad value
    assert yaml.safe_load(path.read_text(encoding="utf-8")).get("task"), f"{_rel(path)}: names no task"
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# fintune run "), f"{_rel(path)}: first line must be the command that runs it"
    assert first.split()[3] == _rel(path), f"{_rel(path)}: its first line runs another file: {first!r}"


@pytest.mark.parametrize("path", SWEEPS, ids=_rel)
def test_sweep_expands_and_its_first_line_runs_it(path):
    from fintune.compare.sweep import load_sweep

    assert load_sweep(path).runs  # every run's config validates
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == f"# fintune compare {_rel(path)}", f"{_rel(path)}: first line must be the command that runs it"


def test_config_names_are_unique():
    # Two configs with one name would write into the same runs/<name>/ and refuse or replace each other.
    names = [load_config(path).name for path in SHIPPED]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("method", METHODS)
def test_every_llm_family_ships_each_method(family, method):
    path = ROOT / "configs" / "llm" / f"{family}_{method}_fpb.yaml"
    assert path.is_file(), f"missing {_rel(path)}"
    cfg = load_config(path)
    assert cfg.adapter.method == method
    assert cfg.model.kind == "causal"


@pytest.mark.parametrize("path", SHIPPED, ids=_rel)
def test_a_shipped_config_runs_on_what_make_install_provides_or_says_what_to_set(path, monkeypatch):
    """Offline, a hub id fails after a minute of retries: a shipped config names a bundled model, or its first
    line says that model.path must name a local copy."""
    from fintune.models.availability import model_origin

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = load_config(path)
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert model_origin(cfg.model) in ("bundled", "local") or "[model.path=LOCAL_DIR]" in first, _rel(path)
