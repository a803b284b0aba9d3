"""Optional experiment tracking: a run's params and metrics also go to TensorBoard and/or MLflow.

Our training loop is our own (not the HF Trainer), so it reports through one small call,
`tracker.log_metrics(prefix, values, step)`, and this module fans that out to the enabled backends
through their public APIs. `Tracker()` has no backends and returns at once, so the loop needs no
`if tracking:` branches and a run with tracking off imports neither package.
"""

from __future__ import annotations

import atexit
import math
import numbers
import time
from pathlib import Path

from fintune.config import RunConfig, TrackingConfig
from fintune.errors import FintuneError
from fintune.train.rundir import flatten

INSTALL = "pip install 'fintune[tracking]'"
AXES = ("step", "epoch")
"""Keys that say where a measurement was taken, not what was measured; never logged as metrics."""


class Tracker:
    """Fans metrics out to the enabled backends; with none enabled every call is a no-op."""

    def __init__(self, backends: list | None = None):
        self.backends = list(backends or [])
        if self.backends:
            # a run that raises never reaches close(): mark it failed at exit instead of leaving it "running"
            atexit.register(self.close, "FAILED")

    def log_metrics(self, prefix: str, values: dict, step: int) -> None:
        """Log the numeric entries of `values` as `<prefix>/<key>` at `step`; lists, dicts and strings are skipped."""
        if not self.backends:
            return
        named = {f"{prefix}/{k}": float(v) for k, v in values.items() if k not in AXES and _is_number(v)}
        for backend in self.backends:
            backend.log_metrics(named, step)

    def log_summary(self, metrics: dict, step: int) -> None:
        """The final metrics.json blocks: test (and test_generate), each baseline, the train summary."""
        for block in ("test", "test_generate", "validation", "train"):
            if isinstance(metrics.get(block), dict):
                self.log_metrics(f"final_{block}" if block in ("validation", "train") else block, metrics[block], step)
        for name, block in (metrics.get("baselines") or {}).items():
            if isinstance(block, dict):
                self.log_metrics(f"baseline_{name}", block, step)

    def close(self, status: str = "FINISHED") -> None:
        backends, self.backends = self.backends, []  # idempotent: the atexit hook may call it again
        atexit.unregister(self.close)
        for backend in backends:
            backend.close(status)


def check_tracking(cfg: TrackingConfig) -> None:
    """Fail before anything is written or trained when an enabled backend's package is missing."""
    for enabled, module, flag in ((cfg.tensorboard, "tensorboard", "tensorboard"), (cfg.mlflow, "mlflow", "mlflow")):
        if enabled:
            try:
                __import__(module)
            except ImportError:
                raise FintuneError(f"tracking.{flag} needs the {module} package: {INSTALL}") from None


def open_tracker(cfg: RunConfig, folder: Path, resume: bool = False) -> Tracker:
    """The tracker for one run writing into `folder` (the unfinished run directory)."""
    check_tracking(cfg.tracking)
    backends = []
    if cfg.tracking.tensorboard:
        backends.append(_TensorBoard(folder / "tensorboard", cfg.to_yaml()))
    if cfg.tracking.mlflow:
        uri = cfg.tracking.mlflow_uri or "sqlite:///" + str((Path(cfg.output_dir) / "mlflow.db").resolve())
        # the run id is kept in the work folder so that --resume continues the same MLflow run
        backends.append(_MLflow(uri, cfg, folder / "_work" / "mlflow_run_id", resume))
    return Tracker(backends)


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


class _TensorBoard:
    def __init__(self, log_dir: Path, config_yaml: str):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(log_dir))
        # TensorBoard renders text as Markdown: indenting by four spaces keeps the YAML a code block
        self.writer.add_text("config", "\n".join("    " + line for line in config_yaml.splitlines()))

    def log_metrics(self, named: dict, step: int) -> None:
        for key, value in named.items():
            self.writer.add_scalar(key, value, step)

    def close(self, status: str) -> None:
        self.writer.close()


class _MLflow:
    FLUSH_EVERY = 200
    """Metrics are sent in batches: one SQLite transaction per optimizer step would slow small runs down."""

    def __init__(self, uri: str, cfg: RunConfig, id_file: Path, resume: bool):
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=uri)
        self.pending: list = []
        if resume and id_file.is_file():
            self.run_id = id_file.read_text(encoding="utf-8").strip()
            self.client.update_run(self.run_id, status="RUNNING")
            return
        name = cfg.tracking.experiment or "fintune"
        experiment = self.client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(name)
        tags = {"fintune.run_dir": str(cfg.run_dir.resolve())}
        self.run_id = self.client.create_run(experiment_id, run_name=cfg.name, tags=tags).info.run_id
        id_file.parent.mkdir(parents=True, exist_ok=True)
        id_file.write_text(self.run_id, encoding="utf-8")
        self._log_params(flatten(cfg.model_dump(mode="json")))

    def _log_params(self, params: dict) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)) for k, v in params.items()]
        for i in range(0, len(items), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(self.run_id, params=items[i : i + 100])

    def log_metrics(self, named: dict, step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.pending += [Metric(k, v, now, step) for k, v in named.items()]
        if len(self.pending) >= self.FLUSH_EVERY:
            self._flush()

    def _flush(self) -> None:
        for i in range(0, len(self.pending), 1000):  # MLflow takes at most 1000 metrics per batch
            self.client.log_batch(self.run_id, metrics=self.pending[i : i + 1000])
        self.pending = []

    def close(self, status: str) -> None:
        self._flush()
        self.client.set_terminated(self.run_id, status=status)
