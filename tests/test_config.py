from pathlib import Path

import pytest

from fintune.config import RunConfig, load_config
from fintune.config.section import Section
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
        ("train.epoch=2", "override 'train.epoch=2': unknown config key 'train.epoch'; did you mean 'train.epochs'?"),
        ("trian.epochs=2", "override 'trian.epochs=2': unknown config key 'trian'; did you mean 'train'?"),
        ("train.lr=1e-3", "unknown config key 'train.lr'; train has: epochs, max_steps"),
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


def test_a_typo_in_a_file_names_the_file_line_and_closest_key(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("task: classify\ntrain:\n  epochs: 1\n  learnig_rate: 1e-3\n", encoding="utf-8")
    with pytest.raises(FintuneError) as err:
        load_config(path)
    assert str(err.value) == (
        f"config file '{path}', line 4: unknown config key 'train.learnig_rate'; did you mean 'train.learning_rate'?"
    )


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text("task: classify\ntrain:\n  epochs: 1\n  epochs: 3\n", encoding="utf-8")
    with pytest.raises(FintuneError, match=r"', line 4: key 'train.epochs' is given twice \(first on line 3\)"):
        load_config(path)


def test_resolved_config_round_trips(tmp_path):
    cfg = load_config(ROOT / "configs/quickstart.yaml", ["train.epochs=4"])
    out = tmp_path / "c.yaml"
    out.write_text(cfg.to_yaml())
    assert load_config(out) == cfg


def test_every_config_field_says_what_it_is_for():
    """Each field's docstring is its description (config/section.py); none may be missing."""
    missing = []
    for section in (RunConfig, *_sections(RunConfig)):
        missing += [f"{section.__name__}.{name}" for name, f in section.model_fields.items() if not f.description]
    assert not missing


def _sections(model) -> set:
    found = set()
    for field in model.model_fields.values():
        for kind in (field.annotation, *getattr(field.annotation, "__args__", ())):
            if isinstance(kind, type) and issubclass(kind, Section) and kind not in found:
                found |= {kind, *_sections(kind)}
    return found


def test_a_config_without_task_gets_the_task_of_its_source_with_a_note(tmp_path, caplog):
    old = tmp_path / "old.yaml"
    old.write_text("name: w\ndata:\n  source: windows\n")
    cfg = load_config(old)
    assert cfg.task == "forecast" and cfg.eval.baselines == ["naive_last", "naive_drift", "lstm"]
    assert "inferred `task: forecast`" in caplog.text
    assert load_config(ROOT / "configs/quickstart.yaml").task == "classify"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["task=forecast"], "task 'forecast' reads data.source windows; 'fpb' is a 'classify' source"),
        (["data.source=trend"], "task 'classify' reads data.source a labelled-text dataset; 'trend' is a 'trend'"),
        (["task=plan"], "bad value for 'task'"),
    ],
)
def test_task_and_source_must_agree(overrides, message):
    with pytest.raises(FintuneError, match=message) as error:
        load_config(ROOT / "configs/quickstart.yaml", overrides)
    assert "got {" not in str(error.value)  # one line naming the keys, not the whole config echoed back


def test_trend_and_signal_ask_their_own_question_unless_the_config_asks_another():
    trend = load_config(ROOT / "configs/trend/reddit_btc_1d_smollm2.yaml")
    assert "How will the price" in trend.prompt.instruction
    assert "sentiment" in load_config(ROOT / "configs/quickstart.yaml").prompt.instruction
    signal = load_config(ROOT / "configs/signal/gold_future_info.yaml")
    assert "investment signal" in signal.prompt.instruction
    own = load_config(ROOT / "configs/trend/reddit_btc_1d.yaml", ["prompt.instruction=Up or down? {choices}"])
    assert own.prompt.instruction == "Up or down? {choices}"
