"""A run's whole configuration, loaded from YAML plus dotted overrides.

Unknown keys are errors (a typo must not silently fall back to a default), and every error names the key it is
about. The resolved config, every default filled in, is what a run saves as `config.yaml`.
"""

from __future__ import annotations

import difflib
import logging
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, model_validator

from fintune.config.section import Section
from fintune.config.sections import (
    FORECAST_BASELINES,
    AdapterConfig,
    DataConfig,
    EvalConfig,
    ModelConfig,
    PromptConfig,
    TrackingConfig,
    TrainConfig,
)
from fintune.config.tasks import TASK_INSTRUCTIONS, TASK_SOURCES, Task, infer_task, task_note
from fintune.config.yaml_file import YamlFile
from fintune.errors import FintuneError

log = logging.getLogger("fintune")


class RunConfig(Section):
    """One run: the job, where it is written, and every section."""

    task: Task = "classify"
    """classify | trend | forecast | signal: which recipe runs (src/fintune/recipes/). A config without it gets the
    task its data.source implies (config/tasks.py `infer_task`), with a note."""
    name: str = Field("fpb-minilm-lora", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    """Run name: the run is written to <output_dir>/<name>/."""
    output_dir: str = "runs"
    """Folder the run folder goes into."""
    overwrite: bool = False
    """Replace a finished run of the same name (only once the new run has finished)."""
    data: DataConfig = DataConfig()
    """Which examples, and how they are split."""
    model: ModelConfig = ModelConfig()
    """The pretrained model."""
    adapter: AdapterConfig = AdapterConfig()
    """The fine-tuning method."""
    train: TrainConfig = TrainConfig()
    """The optimisation."""
    prompt: PromptConfig = PromptConfig()
    """How a causal LM is asked (classification tasks)."""
    eval: EvalConfig = EvalConfig()
    """Baselines, selection metric, LLM evaluation modes."""
    tracking: TrackingConfig = TrackingConfig()
    """TensorBoard / MLflow."""

    @model_validator(mode="before")
    @classmethod
    def _task_defaults(cls, raw: Any) -> Any:
        """Fill what the task implies into the input before validation: the task itself for an old config, the
        forecasting baselines when eval.baselines is not given (the classification default makes no sense there)."""
        if not isinstance(raw, dict):
            return raw
        data = raw.get("data") if isinstance(raw.get("data"), dict) else {}
        raw = {**raw, "task": raw.get("task") or infer_task(data.get("source", "fpb"))}
        section = raw.get("eval") if isinstance(raw.get("eval"), dict) else {}
        if raw["task"] == "forecast" and "baselines" not in section:
            raw["eval"] = {**section, "baselines": list(FORECAST_BASELINES)}
        prompt = raw.get("prompt") if isinstance(raw.get("prompt"), dict) else {}
        if raw["task"] in TASK_INSTRUCTIONS and "instruction" not in prompt:
            raw["prompt"] = {**prompt, "instruction": TASK_INSTRUCTIONS[raw["task"]]}
        return raw

    @model_validator(mode="after")
    def _check_combinations(self) -> RunConfig:
        if infer_task(self.data.source) != self.task:
            wanted = " or ".join(TASK_SOURCES.get(self.task, ("a labelled-text dataset",)))
            raise ValueError(
                f"task '{self.task}' reads data.source {wanted}; '{self.data.source}' is a "
                f"'{infer_task(self.data.source)}' source"
            )
        if self.adapter.method == "freeze" and self.adapter.target_modules:
            raise ValueError("adapter.target_modules does not apply to method 'freeze'")
        if (self.eval.sentiment_run or self.eval.sentiment_window) and self.task != "trend":
            raise ValueError("eval.sentiment_run needs task: trend (posts with prices)")
        if (self.eval.threshold == "target_precision") != (self.eval.target_precision is not None):
            raise ValueError("eval.threshold: target_precision and eval.target_precision go together")
        forecasting = self.task == "forecast"
        wrong = [b for b in self.eval.baselines if (b in FORECAST_BASELINES) != forecasting]
        if wrong:
            raise ValueError(f"eval.baselines {wrong} do not apply to task '{self.task}'")
        return self

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def load_config(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """Read a YAML config, apply `key.sub=value` overrides, validate. An error about a key names where that key
    came from: the override that set it, or the file and line it is written on."""
    file = YamlFile(Path(path), "config file")
    raw = file.data
    overridden = {}
    for item in overrides or []:
        apply_override(raw, item)
        overridden[item.partition("=")[0]] = item
    untasked = "task" not in raw

    def origin(key: str) -> str:
        for set_key, item in overridden.items():  # the override's own key, or a section it created
            if set_key == key or set_key.startswith(key + "."):
                return f"override '{item}'"
        return file.where(key)

    cfg = validate_config(raw, source=str(path), origin=origin)
    if untasked:  # after validation, so that a config with an error gets its one error line and nothing else
        log.warning("%s: %s", path, task_note(cfg.data.source))
    return cfg


def data_config(source: str, overrides: list[str] | None = None) -> DataConfig:
    """The data section `fintune data show|export SOURCE data.key=value ...` reads: as a run would, with overrides."""
    raw: dict[str, Any] = {"data": {"source": source}}
    for item in overrides or []:
        if not item.startswith("data."):
            raise FintuneError(
                f"override '{item}': `fintune data` commands take data.* keys only (e.g. data.text_column=...)"
            )
        apply_override(raw, item)
    if raw["data"].get("source") != source:
        raise FintuneError("the dataset is the first argument of `fintune data`, not data.source")

    def origin(key: str) -> str:
        return next((f"override '{i}'" for i in overrides or [] if i.partition("=")[0] == key), f"data '{source}'")

    return validate_config(raw, source=f"data '{source}'", origin=origin).data


def validate_config(raw: dict[str, Any], source: str = "config", origin=None) -> RunConfig:
    """`origin(dotted key)` (optional) says where a key came from, for the error; `source` otherwise."""
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as e:
        problems = describe_problems(e)
        if origin is None:
            raise FintuneError(f"{source}: " + "; ".join(text for _, text in problems)) from None
        raise FintuneError("; ".join(f"{origin(key) if key else source}: {text}" for key, text in problems)) from None


def apply_override(raw: dict[str, Any], item: str) -> None:
    """Set `a.b.c=value` in a nested dict; the value is parsed as YAML (so 2, true, [a, b] work)."""
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise FintuneError(f"override '{item}' must look like key.sub=value")
    parts = key.split(".")
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise FintuneError(f"override '{item}': '{part}' is not a section")
        node = child
    try:
        node[parts[-1]] = yaml.safe_load(value) if value != "" else None
    except yaml.YAMLError:
        node[parts[-1]] = value


def describe_validation_error(e: ValidationError) -> str:
    """One line per problem, each naming the dotted key."""
    return "; ".join(text for _, text in describe_problems(e))


def describe_problems(e: ValidationError) -> list[tuple[str, str]]:
    """(dotted key or '' for a rule of the whole config, what is wrong) per problem; an unknown key gets the
    closest known one."""
    problems = []
    for err in e.errors():
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            problems.append((key, f"unknown config key '{key}'; {_known_keys_hint(err['loc'])}"))
        elif not err["loc"] or (err["type"] == "value_error" and isinstance(err.get("input"), dict)):
            # a rule of the whole config or of a section (keys that must agree): its message names the keys
            problems.append(("", err["msg"].removeprefix("Value error, ")))
        else:
            problems.append((key, f"bad value for '{key}': {err['msg']} (got {err.get('input')!r})"))
    return problems


def _known_keys_hint(loc: tuple) -> str:
    """'did you mean ...?' with the closest key, or the keys the section has when none is close."""
    hint = closest_key(loc)
    if hint:
        return f"did you mean '{hint}'?"
    section = _section_at(loc[:-1])
    where = ".".join(map(str, loc[:-1])) or "a config"
    return f"{where} has: {', '.join(getattr(section, 'model_fields', {}))}"


def closest_key(loc: tuple) -> str | None:
    """The known key nearest to an unknown one in the same section (`train.epoch` -> `train.epochs`)."""
    known = list(getattr(_section_at(loc[:-1]), "model_fields", {}))
    match = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    return ".".join([*map(str, loc[:-1]), match[0]]) if match else None


def _section_at(path: tuple) -> Any:
    """The pydantic section class a dotted path leads to (None where it leads nowhere)."""
    section: Any = RunConfig
    for part in path:
        field = getattr(section, "model_fields", {}).get(part)
        if field is None:
            return None
        section = _section_class(field.annotation)
        if section is None:
            return None
    return section


def _section_class(annotation: Any) -> type | None:
    """The pydantic section inside an annotation such as `TrendConfig | None`."""
    if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
        return annotation
    for arg in typing.get_args(annotation):
        found = _section_class(arg)
        if found:
            return found
    return None
