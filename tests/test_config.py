from pathlib import Path

import pytest

from fintune.config import load_config
from fintune.errors import FintuneError

ROOT = Path(__file__).resolve().parents[1]


def test_overrides_are_parsed_as_yaml_values():
    cfg = load_config(ROOT / "configs/quickstart.yaml", ["train.epochs=2", "adapter.method=dora", "name=x"])
    assert (cfg.train.epochs, cfg.adapter.method, cfg.name) == (2, "dora", "x")


def test_learning_rate_default_depends_on_method():
    cfg = load_config(ROOT / "configs/quickstart.yaml", ["train.learning_rate=", "adapter.method=full"])
    assert cfg.train.resolved_learning_rate("full") == 5e-5
    assert cfg.train.resolved_learning_rate("lora") == 1e-3


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.epoch=2", "unknown config key 'train.epoch'"),
        ("trian.epochs=2", "unknown config key 'trian'"),
        ("train.epochs=many", "bad value for 'train.epochs'"),
        ("adapter.method=magic", "bad value for 'adapter.method'"),
        ("train.batch_size=0", "bad value for 'train.batch_size'"),
        ("name=a/b", "bad value for 'name'"),
        ("noequals", "must look like key.sub=value"),
    ],
)
def test_bad_keys_and_values_name_the_key(override, message):
    with pytest.raises(FintuneError, match=message.replace("(", r"\(")):
        load_config(ROOT / "configs/quickstart.yaml", [override])


def test_resolved_config_round_trips(tmp_path):
    cfg = load_config(ROOT / "configs/quickstart.yaml", ["train.epochs=4"])
    out = tmp_path / "c.yaml"
    out.write_text(cfg.to_yaml())
    assert load_config(out) == cfg
