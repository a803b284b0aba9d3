"""Run configuration: one pydantic model per concern (sections.py), the task sections (tasks.py), and the whole
run with its loading from YAML and overrides (run.py)."""

from fintune.config.run import RunConfig, apply_override, describe_validation_error, load_config, validate_config
from fintune.config.sections import (
    ADAPTER_METHODS,
    FORECAST_BASELINES,
    AdapterConfig,
    DataConfig,
    EvalConfig,
    Method,
    ModelConfig,
    PromptConfig,
    TrackingConfig,
    TrainConfig,
)
from fintune.config.tasks import TASK_SOURCES, SignalConfig, Task, TrendConfig, WindowsConfig, infer_task

__all__ = [
    "ADAPTER_METHODS",
    "FORECAST_BASELINES",
    "TASK_SOURCES",
    "AdapterConfig",
    "DataConfig",
    "EvalConfig",
    "Method",
    "ModelConfig",
    "PromptConfig",
    "RunConfig",
    "SignalConfig",
    "Task",
    "TrackingConfig",
    "TrainConfig",
    "TrendConfig",
    "WindowsConfig",
    "apply_override",
    "describe_validation_error",
    "infer_task",
    "load_config",
    "validate_config",
]
