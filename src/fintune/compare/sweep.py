"""A sweep file -> the grid of runs it stands for, run one after another, each result kept as JSON.

base: configs/quickstart.yaml     # every run starts from it
overrides: {train.epochs: 1}      # applied to every run
axes:                             # every combination is one run
  adapter.method: [lora, lora_plus]
  train.seed: [1, 2, 3]
select: {metric: f1_weighted, split: validation}
benchmark: [fpb, fiqa-sa, tfns, nwgi]   # optional: a FinGPT-style table of every setting on these test splits
tune: [train.learning_rate]             # optional: axes chosen on validation per setting; only the choices are timed
exclude:                                # optional: grid points not worth running (all keys given must match)
  - {adapter.method: lora_plus, train.seed: 3}

`base` may also be an axis, a list of configs (`axes: {base: [configs/quickstart.yaml, configs/llm/x.yaml]}`), for
a comparison of models that differ in more than one key (model, prompt, adapter and rate): each config is one
setting, the overrides apply to all of them.

Runs live in runs/<sweep>/runs/<run>/ and their results in runs/<sweep>/results/<run>.json. A run that
already finished with the same resolved config is not run again, so a crashed or interrupted sweep
continues where it stopped; a run that fails is recorded as failed and the sweep goes on.

A sweep can also be split into parts (`fintune compare sweep.yaml --part 1/2` in one shell, `--part 2/2` in another):
part K of N takes every Nth run from the K-th on, so the parts never share a run, whatever has finished already
(on a CPU: one single-thread process per core, each training its own runs).
"""

from __future__ import annotations

import difflib
import itertools
import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from fintune.atomic import check_creatable_folder
from fintune.compare.scoring import FORECASTING, Scoring, scoring_for
from fintune.config import RunConfig, apply_override, validate_config
from fintune.config.yaml_file import YamlFile
from fintune.errors import FintuneError
from fintune.interrupts import remembered_interrupts
from fintune.recipes import run_recipe
from fintune.train.checkpoint import has_checkpoint
from fintune.train.rundir import RunDir


@dataclass
class Sweep:
    name: str
    base: Path
    overrides: dict
    axes: dict[str, list]
    select_metric: str = ""
    """The validation metric that chooses the best (default: the task's, f1_weighted or forecasting's loss)."""
    target_loss: float | None = None
    """The training loss every method is timed to (default: the highest final loss among the runs)."""
    output_dir: Path = Path("runs")
    benchmark: list[str] = field(default_factory=list)
    """Datasets for the FinGPT-style table (test splits); empty: no table."""
    tune: tuple[str, ...] = ()
    """Axes chosen on validation per setting (e.g. train.learning_rate): only each setting's choice is timed."""
    runs: list[tuple[dict, RunConfig]] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.output_dir / self.name

    @property
    def scoring(self) -> Scoring:
        return scoring_for({cfg.task for _, cfg in self.runs})


def load_sweep(path: str | Path) -> Sweep:
    path = Path(path)
    file = YamlFile(path, "sweep file")
    raw = file.data
    known = ["axes", "base", "benchmark", "exclude", "name", "output_dir", "overrides", "select", "target_loss", "tune"]
    unknown = sorted(set(map(str, raw)) - set(known))
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"a sweep file has: {', '.join(known)}"
        raise FintuneError(f"{file.where(unknown[0])}: unknown key '{unknown[0]}'; {hint}")
    axes = raw.get("axes") or {}
    if ("base" in raw) == ("base" in axes) or not axes:
        raise FintuneError(
            f"sweep file '{path}' needs `axes` (key: [values]) and `base` (a config), either as a key or as an axis"
        )
    for key, values in axes.items():
        if not isinstance(values, list) or not values:
            raise FintuneError(f"sweep file '{path}': axis '{key}' must be a non-empty list")
    if "base" in axes:
        axes = {**axes, "base": [str(_find_base(Path(b), path)) for b in axes["base"]]}
    select = raw.get("select") or {}
    if select.get("split", "validation") != "validation":
        raise FintuneError(f"sweep file '{path}': select.split must be validation (the test split chooses nothing)")
    base = _find_base(Path(raw.get("base", axes.get("base", [""])[0])), path)
    sweep = Sweep(
        name=str(raw.get("name") or path.stem),
        base=base,
        overrides=dict(raw.get("overrides") or {}),
        axes={str(k): list(v) for k, v in axes.items()},
        select_metric=select.get("metric", ""),
        target_loss=raw.get("target_loss"),
        output_dir=Path(raw.get("output_dir", "runs")),
        benchmark=_benchmark_names(raw.get("benchmark"), path),
        tune=tuple(raw.get("tune") or ()),
    )
    wrong = [key for key in sweep.tune if key not in axes or key in ("base", "train.seed")]
    if wrong:
        raise FintuneError(f"sweep file '{path}': tune {wrong} must name axes other than base and train.seed")
    exclude = raw.get("exclude") or []
    if not isinstance(exclude, list) or not all(isinstance(e, dict) and e for e in exclude):
        raise FintuneError(f"sweep file '{path}': exclude must be a list of {{axis: value}} mappings")
    points = [p for p in grid(sweep.axes) if not any(all(p.get(k) == v for k, v in e.items()) for e in exclude)]
    sweep.runs = [(point, _run_config(sweep, point)) for point in points]
    scoring = sweep.scoring
    sweep.select_metric = sweep.select_metric or scoring.default_select
    if scoring is FORECASTING and sweep.select_metric != "loss":
        raise FintuneError(f"sweep file '{path}': forecasting runs are chosen by validation loss (select.metric: loss)")
    if sweep.select_metric not in scoring.selectable:
        close = difflib.get_close_matches(sweep.select_metric, scoring.selectable, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"one of: {', '.join(scoring.selectable)}"
        raise FintuneError(f"sweep file '{path}': unknown select.metric '{sweep.select_metric}'; {hint}")
    return sweep


def _benchmark_names(value, path: Path) -> list[str]:
    if value is None:
        return []
    names = [v.strip() for v in value.split(",")] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise FintuneError(f"sweep file '{path}': benchmark must be a list of dataset names, e.g. [fpb, fiqa-sa]")
    return names


def _find_base(base: Path, sweep_file: Path) -> Path:
    """`base` as given (relative to the working directory), else relative to the sweep file's folder or one of
    its parents, so `fintune compare configs/compare/x.yaml` also works from outside the repository."""
    if base.is_absolute() or base.is_file():
        return base
    for folder in [sweep_file.resolve().parent, *sweep_file.resolve().parents]:
        if (folder / base).is_file():
            return folder / base
    return base


def grid(axes: dict[str, list]) -> list[dict]:
    """Every combination of the axes' values, in the order the file lists them."""
    keys = list(axes)
    return [dict(zip(keys, values)) for values in itertools.product(*(axes[k] for k in keys))]


def run_name(sweep_name: str, point: dict) -> str:
    """e.g. fpb-methods_method-lora_seed-1: the sweep, then each axis' last key part and value (a base config by
    its file name: fingpt-models_smollm2_lora_fpb)."""
    parts = [Path(v).stem if k == "base" else f"{k.split('.')[-1]}-{v}" for k, v in point.items()]
    return "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in f"{sweep_name}_{'_'.join(parts)}")


def _run_config(sweep: Sweep, point: dict) -> RunConfig:
    base = YamlFile(Path(point.get("base", sweep.base)), "sweep base config")
    raw = base.data
    for key, value in {**sweep.overrides, **{k: v for k, v in point.items() if k != "base"}}.items():
        apply_override(raw, f"{key}={json.dumps(value)}")
    raw["name"] = run_name(sweep.name, point)
    raw["output_dir"] = str(sweep.folder / "runs")
    run = f"sweep '{sweep.name}', run {point}"

    def origin(key: str) -> str:
        """The axis value or sweep override that set `key` (or a section it created), else the base config's line."""
        for set_key in point:
            if set_key == key or set_key.startswith(key + "."):
                return run
        for set_key in sweep.overrides:
            if set_key == key or set_key.startswith(key + "."):
                return f"sweep '{sweep.name}', overrides: '{set_key}'"
        return base.where(key)

    return validate_config(raw, run, origin=origin)


def is_done(cfg: RunConfig) -> bool:
    """Finished with exactly this resolved config (then it is not run again)."""
    saved = cfg.run_dir / "config.yaml"
    if not (cfg.run_dir / "metrics.json").is_file() or not saved.is_file():
        return False
    before = yaml.safe_load(saved.read_text(encoding="utf-8")) or {}
    now = cfg.model_dump(mode="json")
    for key in ("overwrite", "tracking"):  # how it was written and watched, not what was run
        before.pop(key, None), now.pop(key, None)
    return before == now


def can_resume(cfg: RunConfig) -> bool:
    """An interrupted run of exactly this config left a checkpoint: continue it rather than start over
    (`--resume` ends where an uninterrupted run ends, so the sweep's results do not depend on the interruption)."""

    folder = RunDir(cfg.model_copy(update={"overwrite": True}))
    if not has_checkpoint(folder.work / "checkpoint"):
        return False
    try:
        folder.check(resume=True)
    except FintuneError:  # another config (the sweep file changed): start over
        return False
    return True


def parse_part(text: str) -> tuple[int, int]:
    """'2/3' -> (2, 3): the second of three parts."""
    k, sep, n = text.partition("/")
    if not (sep and k.strip().isdigit() and n.strip().isdigit()) or not 1 <= int(k) <= int(n):
        raise FintuneError(f"--part must be K/N with 1 <= K <= N, e.g. 1/2, not '{text}'")
    return int(k), int(n)


def in_part(index: int, part: tuple[int, int] | None) -> bool:
    """Run number `index` (from 1, in the sweep's order) belongs to `part`; None is the whole sweep.
    Round-robin on the fixed order, not on what is left, so two parts started at different times never overlap."""
    return part is None or (index - 1) % part[1] == part[0] - 1


def run_sweep(sweep: Sweep, say=print, part: tuple[int, int] | None = None) -> list[dict]:
    """Run what is not done yet (of `part` only, when given); returns the result record of every run it ran or
    found finished (also written to results/<run>.json)."""

    results_dir = sweep.folder / "results"
    check_creatable_folder(sweep.folder, f"sweep '{sweep.name}' folder")
    results_dir.mkdir(parents=True, exist_ok=True)
    records = []
    with remembered_interrupts() as pressed:
        for i, (point, cfg) in enumerate(sweep.runs, start=1):
            if not in_part(i, part):
                continue
            label = f"[{i}/{len(sweep.runs)}] {cfg.name}"
            out = results_dir / f"{cfg.name}.json"
            if is_done(cfg):
                say(f"{label}: finished before, skipped")
            else:
                resume = can_resume(cfg)
                say(f"{label}: " + ("continuing its unfinished run from the last checkpoint" if resume else "running"))
                t0 = time.perf_counter()
                try:
                    # overwrite: a finished run with another config (the sweep file changed) is replaced
                    run_recipe(cfg.model_copy(update={"overwrite": True}), resume=resume)
                except Exception as e:  # noqa: BLE001 - a failed run is recorded; the sweep goes on
                    if pressed:  # Ctrl-C that a library turned into its own error is still Ctrl-C
                        raise KeyboardInterrupt from None
                    record = {"run_info": {"name": cfg.name, "axes": point, "status": "failed", "error": str(e)}}
                    record["run_info"]["traceback"] = traceback.format_exc(limit=3)
                    out.write_text(json.dumps(record, indent=2), encoding="utf-8")
                    say(f"{label}: FAILED after {time.perf_counter() - t0:.0f} s: {str(e).splitlines()[0]}")
                    records.append(record)
                    continue
                except BaseException:  # KeyboardInterrupt, or torch's CheckpointException wrapping one
                    if pressed:
                        raise KeyboardInterrupt from None
                    raise
            record = result_record(cfg, point)
            out.write_text(json.dumps(record, indent=2), encoding="utf-8")
            records.append(record)
            pressed.stop_if_pressed()  # a Ctrl-C swallowed inside that run: it finished, the next one does not start
    return records


def result_record(cfg: RunConfig, point: dict) -> dict:
    """What the leaderboard reads about one finished run: run_info, train_info, meta_info, metrics."""
    metrics = json.loads((cfg.run_dir / "metrics.json").read_text(encoding="utf-8"))
    train = metrics.get("train", {})
    log_file = cfg.run_dir / "train_log.json"
    return {
        "run_info": {"name": cfg.name, "run_dir": str(cfg.run_dir), "axes": point, "status": "finished"},
        "train_info": {
            **{k: train.get(k) for k in ("runtime_s", "peak_rss_mb", "trainable_params", "total_params", "steps")},
            "wall_s": round(sum((train.get("wall_s") or {}).values()), 1),  # setup + training + evaluation
            "evals": train.get("evals", []),
            "val_curve": train.get("val_curve", []),
            "losses": json.loads(log_file.read_text(encoding="utf-8")) if log_file.is_file() else [],
        },
        "meta_info": {"config": cfg.model_dump(mode="json"), **metrics.get("meta", {})},
        "data_info": {
            k: metrics.get("data", {})[k] for k in ("subset", "n_train", "n_test") if k in metrics.get("data", {})
        },
        "metrics": {
            k: metrics[k] for k in ("test", "validation", "baselines", "threshold", "backtest") if k in metrics
        },
    }
