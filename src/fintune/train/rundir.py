"""The run directory lifecycle: work in `<name>.partial/`, rename to `<name>/` only when finished.

So a crashed or killed run never looks complete, and `--resume` knows where to continue.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from fintune.atomic import check_creatable_folder
from fintune.config import RunConfig
from fintune.errors import FintuneError
from fintune.library_noise import forget_held, held

NOISE_LOG = "library_warnings.log"
"""Library messages kept off the terminal while the run ran (fintune/library_noise.py); absent when there were none."""


class RunDir:
    def __init__(self, cfg: RunConfig):
        self.cfg = cfg
        self.final = cfg.run_dir
        self.path = self.final.with_name(self.final.name + ".partial")
        self.work = self.path / "_work"
        """Checkpoints and best weights; removed when the run finishes."""

    def check(self, resume: bool) -> None:
        """Refuse early, before any data or model is loaded, what `open` would refuse."""
        check_creatable_folder(Path(self.cfg.output_dir), "output_dir")
        if self.final.exists() and not self.cfg.overwrite:
            raise FintuneError(
                f"run '{self.cfg.name}' already exists at {self.final}; set overwrite=true or choose another name="
            )
        if resume:
            self._check_resumable()

    def open(self, resume: bool, say=print) -> None:
        self.check(resume)
        if not resume:
            if self.path.exists():
                say(f"starting over: discarding the unfinished run in {self.path} (--resume would continue it)")
            shutil.rmtree(self.path, ignore_errors=True)
            self.work.mkdir(parents=True)
            (self.path / "config.yaml").write_text(self.cfg.to_yaml(), encoding="utf-8")
        self.work.mkdir(parents=True, exist_ok=True)
        (self.path / "plots").mkdir(exist_ok=True)

    def _check_resumable(self) -> None:
        saved = self.path / "config.yaml"
        if not saved.exists():
            raise FintuneError(f"--resume: no unfinished run '{self.cfg.name}' at {self.path}")
        before = yaml.safe_load(saved.read_text(encoding="utf-8"))
        now = self.cfg.model_dump(mode="json")
        flat_now, flat_before = flatten(now), flatten(before)
        # overwrite and tracking say how the run is written and watched, not what it computes
        changed = sorted(
            k
            for k in flat_now
            if k != "overwrite" and not k.startswith("tracking.") and flat_now[k] != flat_before.get(k)
        )
        if changed:
            raise FintuneError(f"--resume: the config differs from the unfinished run's in {', '.join(changed)}")

    def finish(self) -> Path:
        """Drop the work files and move the finished run into place (replacing an old one if allowed)."""
        shutil.rmtree(self.work, ignore_errors=True)
        if noise := held():
            (self.path / NOISE_LOG).write_text("\n".join(noise) + "\n", encoding="utf-8")
            forget_held()  # the next run of this process (a sweep) gets its own
        old = self.final.with_name(self.final.name + ".replaced")
        if self.final.exists():
            shutil.rmtree(old, ignore_errors=True)
            self.final.rename(old)
        self.path.rename(self.final)
        shutil.rmtree(old, ignore_errors=True)
        return self.final


def flatten(d: dict, prefix: str = "") -> dict:
    """{"train": {"seed": 1}} -> {"train.seed": 1}: the dotted keys that overrides use."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def is_finished_run(path: Path) -> bool:
    return (Path(path) / "config.yaml").is_file() and (Path(path) / "metrics.json").is_file()
