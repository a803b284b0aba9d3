"""`fintune compare`: a sweep on the tiny model -> leaderboard, best.json chosen on validation, resumable."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from fintune.compare import sweep as sweep_module
from fintune.compare.convergence import time_to_val_target, val_target
from fintune.compare.sweep import grid, load_sweep, run_sweep
from fintune.errors import FintuneError
from fintune.eval.significance import mcnemar_p

ROOT = Path(__file__).resolve().parents[1]


def test_mcnemar_on_a_known_case():
    # B right on 10 examples A gets wrong, never the reverse: p = 2 * 0.5**10
    a = [True] * 20 + [False] * 10
    b = [True] * 30
    assert mcnemar_p(a, b) == pytest.approx(2 * 0.5**10)
    assert mcnemar_p(a, a) == 1.0
    assert mcnemar_p([True, False], [False, True]) == 1.0  # one each way: no evidence either way


def test_grid_expands_every_combination_in_file_order():
    assert grid({"a": [1, 2], "b": ["x", "y"]}) == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
    ]


def test_validation_target_is_the_worst_best_loss_and_is_timed_on_the_training_clock():
    fast = [(10, 1.0, 0.9), (20, 2.0, 0.5), (30, 3.0, 0.45)]
    slow = [(10, 1.5, 0.95), (20, 3.0, 0.7), (30, 4.5, 0.6)]  # its best, 0.6, is the common target
    target = val_target([fast, slow])
    assert target == pytest.approx(0.6)
    assert time_to_val_target(fast, target) == {"steps": 20, "seconds": 2.0}
    assert time_to_val_target(slow, target) == {"steps": 30, "seconds": 4.5}
    assert time_to_val_target(slow, 0.1) == {"steps": None, "seconds": None}


def _sweep(tmp_path, tiny_overrides) -> Path:
    overrides = dict(o.split("=", 1) for o in tiny_overrides if not o.startswith(("name=", "output_dir=")))
    sweep = {
        "name": "tiny-sweep",
        "base": str(ROOT / "configs/quickstart.yaml"),
        "output_dir": str(tmp_path / "runs"),
        "overrides": {k: yaml.safe_load(v) for k, v in overrides.items()}
        | {"train.epochs": 1, "train.eval_steps": 1, "data.max_eval_samples": 1000},  # keeps all: still subset runs
        "axes": {"adapter.method": ["lora", "lora_plus"], "train.seed": [1, 2]},
        "select": {"metric": "f1_weighted", "split": "validation"},
        "benchmark": [overrides["data.source"]],  # the FinGPT-style table, here on the tiny CSV's test split
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep))
    return path


def _run(*args):
    return subprocess.run([sys.executable, "-m", "fintune", *map(str, args)], capture_output=True, text=True, cwd=ROOT)


def test_sweep_writes_leaderboard_and_best_and_skips_finished_runs(tmp_path, tiny_overrides):
    path = _sweep(tmp_path, tiny_overrides)
    assert len(load_sweep(path).runs) == 4
    dry = _run("compare", path, "--dry-run")
    assert dry.returncode == 0 and "4 run(s)" in dry.stdout and not (tmp_path / "runs").exists()
    res = _run("compare", path)
    assert res.returncode == 0, res.stderr[-3000:]
    folder = tmp_path / "runs" / "tiny-sweep"
    for name in ("leaderboard.md", "leaderboard.csv", "leaderboard.html", "best.json"):
        assert (folder / name).is_file(), name
    assert len(list((folder / "results").glob("*.json"))) == 4
    best = json.loads((folder / "best.json").read_text())
    assert best["chosen_by"].startswith("validation f1_weighted") and "p_test_mcnemar" in best["runner_up"]
    assert best["subset"].startswith("4 of 4 run(s) are a subset run (data.max_train_samples / max_eval_samples)")
    table = (folder / "leaderboard.md").read_text()
    assert f"Subset: {best['subset']}." in table and f"Subset: {best['subset']}." in res.stdout
    assert "adapter.method=lora_plus" in table and "baseline: majority" in table and "±" in table
    fingpt = (folder / "fingpt_table.md").read_text()
    assert fingpt.count("\n| ") == 3 and "F1 micro" in fingpt and "baseline: majority" in fingpt  # 2 settings
    header, _, first_row = table.splitlines()[:3]
    peak = [c.strip() for c in header.split("|")].index("peak MiB")
    assert float(first_row.split("|")[peak].replace(",", "")) > 0  # every run recorded its own peak
    assert "Validation loss to" in table  # eval_steps gave every run a validation curve to time
    for plot in ("loss_curves", "confusion_matrices", "f1_weighted", "mcc", "acc_vs_params", "acc_vs_time"):
        assert (folder / "plots" / f"{plot}.png").is_file(), plot

    again = _run("compare", path)  # everything finished with the same config: nothing runs again
    assert again.returncode == 0 and again.stdout.count("finished before, skipped") == 4
    dry = _run("compare", path, "--dry-run")
    assert (
        dry.stdout.count("(finished, would be skipped)") == 4 and "4 run(s)" in dry.stdout and "0 to run" in dry.stdout
    )


class _WrappedInterrupt(BaseException):
    """What torch.distributed.checkpoint raises when Ctrl-C arrives inside dcp.save."""


@pytest.mark.parametrize("library", ["swallows it", "wraps it"])
def test_a_ctrl_c_a_library_caught_still_stops_the_sweep(tmp_path, tiny_overrides, monkeypatch, library):
    sweep = load_sweep(_sweep(tmp_path, tiny_overrides))
    started = []

    def a_run_pressed_ctrl_c_in(cfg, resume=False):
        started.append(cfg.name)
        cfg.run_dir.mkdir(parents=True)
        (cfg.run_dir / "metrics.json").write_text("{}")
        try:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while a library's catch-all is on the stack
            time.sleep(1)
        except BaseException as e:  # noqa: BLE001 - the library's own catch-all
            if library == "wraps it":
                raise _WrappedInterrupt() from e

    monkeypatch.setattr(sweep_module, "run_recipe", a_run_pressed_ctrl_c_in)
    # as a terminal's foreground job has it: under `nohup ... &` SIGINT is ignored and nothing would arrive
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_sweep(sweep, say=lambda line: None)
    finally:
        signal.signal(signal.SIGINT, before)
    assert started == [sweep.runs[0][1].name]  # the sweep stopped there: no second run started
    recorded = list((sweep.folder / "results").glob("*.json"))
    assert len(recorded) == (1 if library == "swallows it" else 0)  # a run that finished is kept


@pytest.mark.slow
def test_a_sweep_stopped_with_ctrl_c_goes_on_where_it_stopped(tmp_path, tiny_overrides):
    path = _sweep(tmp_path, tiny_overrides)
    results = tmp_path / "runs" / "tiny-sweep" / "results"
    sweep = subprocess.Popen(
        [sys.executable, "-m", "fintune", "compare", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a terminal's foreground job has it
    )
    deadline = time.monotonic() + 600
    while not list(results.glob("*.json")) and sweep.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    sweep.send_signal(signal.SIGINT)  # Ctrl-C once the first run is recorded, while the second one trains
    _, err = sweep.communicate(timeout=120)
    assert sweep.returncode == 130, err[-3000:]
    assert err.strip().splitlines()[-1].startswith("fintune: interrupted") and "Traceback" not in err
    finished = len(list(results.glob("*.json")))
    assert 1 <= finished < 4 and not (tmp_path / "runs" / "tiny-sweep" / "best.json").exists()

    again = _run("compare", path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("finished before, skipped") == finished
    assert len(list(results.glob("*.json"))) == 4 and (tmp_path / "runs" / "tiny-sweep" / "best.json").is_file()


@pytest.mark.slow
def test_a_sweep_continues_a_killed_run_from_its_checkpoint(tmp_path, tiny_overrides):
    from tests.train.test_resume import KILLER  # the CLI, SIGKILLed at a known training batch

    def one_run_sweep(name: str) -> Path:
        raw = yaml.safe_load(_sweep(tmp_path, tiny_overrides).read_text())
        raw["overrides"] |= {"train.epochs": 3, "train.save_steps": 4, "train.batch_size": 4}
        raw |= {"name": name, "axes": {"train.seed": [1]}}
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(raw))
        return path

    def compare(path, kill_at=0):
        cmd = [sys.executable, "-c", KILLER, str(kill_at), "compare", str(path)]
        return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)

    killed = one_run_sweep("killed")
    assert compare(killed, kill_at=23).returncode == -signal.SIGKILL  # 12 batches an epoch: after step 20's checkpoint
    again = compare(killed)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "continuing its unfinished run" in again.stdout and "resuming at step 20" in again.stderr

    straight = one_run_sweep("straight")
    assert compare(straight).returncode == 0
    a, b = (
        json.loads(next((tmp_path / "runs" / n / "results").glob("*.json")).read_text()) for n in ("killed", "straight")
    )
    assert a["metrics"]["test"] == b["metrics"]["test"] and a["train_info"]["losses"] == b["train_info"]["losses"]


def test_excluded_points_are_not_run(tmp_path, tiny_overrides):
    path = _sweep(tmp_path, tiny_overrides)
    raw = yaml.safe_load(path.read_text())
    raw["exclude"] = [{"adapter.method": "lora_plus", "train.seed": 2}]
    path.write_text(yaml.safe_dump(raw))
    points = [point for point, _ in load_sweep(path).runs]
    assert len(points) == 3 and {"adapter.method": "lora_plus", "train.seed": 2} not in points


def test_parts_share_no_run_and_cover_the_sweep():
    for n in (1, 2, 3):
        owners = [[k for k in range(1, n + 1) if sweep_module.in_part(i, (k, n))] for i in range(1, 8)]
        assert all(len(o) == 1 for o in owners)  # every run in exactly one part
    assert [i for i in range(1, 8) if sweep_module.in_part(i, (2, 3))] == [2, 5]
    assert sweep_module.parse_part("2/3") == (2, 3)
    for bad in ("3/2", "0/2", "1", "a/b", "1/0"):
        with pytest.raises(FintuneError, match="--part must be K/N"):
            sweep_module.parse_part(bad)


def test_the_last_part_to_finish_writes_the_leaderboard(tmp_path, tiny_overrides):
    path = _sweep(tmp_path, tiny_overrides)
    raw = yaml.safe_load(path.read_text())
    raw["axes"]["train.seed"] = [1]  # two runs: lora, lora_plus
    path.write_text(yaml.safe_dump(raw))
    folder = tmp_path / "runs" / "tiny-sweep"
    dry = _run("compare", path, "--dry-run", "--part", "2/2")
    assert dry.returncode == 0 and "1 of 2 run(s) (part 2/2)" in dry.stdout and "lora_plus" in dry.stdout
    second = _run("compare", path, "--part", "2/2")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "part 2/2 done; 1 run(s) of the sweep not finished" in second.stdout
    (result,) = (folder / "results").glob("*.json")
    assert "method-lora_plus" in result.name
    assert not (folder / "leaderboard.md").exists()
    first = _run("compare", path, "--part", "1/2")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "finished before, skipped" not in first.stdout  # it ran its own run and only read the other's
    assert (folder / "leaderboard.md").is_file() and (folder / "best.json").is_file()
    assert "adapter.method=lora_plus" in (folder / "leaderboard.md").read_text()  # both parts in one table
    bad = _run("compare", path, "--part", "3/2")
    assert (
        bad.returncode == 2
        and bad.stderr.strip() == "fintune: error: --part must be K/N with 1 <= K <= N, e.g. 1/2, not '3/2'"
    )


def test_a_sweep_that_selects_on_test_is_refused(tmp_path, tiny_overrides):
    path = _sweep(tmp_path, tiny_overrides)
    raw = yaml.safe_load(path.read_text())
    raw["select"]["split"] = "test"
    path.write_text(yaml.safe_dump(raw))
    res = _run("compare", path, "--dry-run")
    assert res.returncode == 2 and "select.split must be validation" in res.stderr


def test_base_as_an_axis_makes_each_config_a_setting(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "models",
                "axes": {
                    "base": [str(ROOT / "configs/quickstart.yaml"), str(ROOT / "configs/llm/smollm2_lora_fpb.yaml")]
                },
                "overrides": {"data.source": ["fpb", "tfns"], "train.epochs": 1},
                "output_dir": str(tmp_path / "runs"),
            }
        )
    )
    runs = load_sweep(path).runs
    assert [cfg.name for _, cfg in runs] == ["models_quickstart", "models_smollm2_lora_fpb"]
    assert [cfg.model.path for _, cfg in runs] == ["minilm", "smollm2"]
    assert all(cfg.data.source == ["fpb", "tfns"] and cfg.train.epochs == 1 for _, cfg in runs)
    both = yaml.safe_load(path.read_text()) | {"base": str(ROOT / "configs/quickstart.yaml")}
    path.write_text(yaml.safe_dump(both))
    with pytest.raises(FintuneError, match="either as a key or as an axis"):
        load_sweep(path)


def _record(method: str, rate: float, validation: float, val_curve: list) -> dict:
    return {
        "run_info": {
            "status": "finished",
            "run_dir": f"runs/{method}-{rate}",
            "axes": {"adapter.method": method, "train.learning_rate": rate},
        },
        "metrics": {"test": {"accuracy": 0.5}, "validation": {"f1_macro": validation}},
        "train_info": {"losses": [], "val_curve": val_curve, "runtime_s": 10.0},
    }


def test_each_method_is_timed_at_its_own_rate_chosen_on_validation():
    import dataclasses

    from fintune.compare import leaderboard
    from fintune.compare.scoring import CLASSIFICATION

    scoring = dataclasses.replace(CLASSIFICATION, paired_p=lambda *runs: None)  # no predictions to pair here
    records = [
        _record("lora", 1e-3, 0.60, [(40, 4.0, 0.30), (80, 8.0, 0.20)]),
        _record("lora", 5e-4, 0.55, [(40, 4.0, 0.40), (80, 8.0, 0.35)]),
        _record("lora_plus", 2e-4, 0.58, [(40, 4.0, 0.25), (80, 8.0, 0.24)]),
        # LoRA+ at a rate too high for it: diverged, the worst validation; must not set the common target
        _record("lora_plus", 1e-3, 0.10, [(40, 4.0, 0.90), (80, 8.0, 1.20)]),
        _record("none", 5e-4, 0.30, []),  # zero-shot: no curve, not timed, and no reason to time nobody
    ]
    rows = leaderboard.build_rows(records, "f1_macro", scoring, tuned=("train.learning_rate",))
    chosen = {r["setting"] for r in rows if r["tuned_choice"]}
    assert chosen == {
        "adapter.method=lora, train.learning_rate=0.001",
        "adapter.method=lora_plus, train.learning_rate=0.0002",
        "adapter.method=none, train.learning_rate=0.0005",
    }
    timed = {r["setting"]: r for r in rows if r.get("val_target_loss") is not None}
    assert set(timed) == chosen - {"adapter.method=none, train.learning_rate=0.0005"}
    # the target is the worse of the two chosen methods' best losses (0.24), which both reach
    assert all(r["val_target_loss"] == pytest.approx(0.24) for r in timed.values())
    assert timed["adapter.method=lora_plus, train.learning_rate=0.0002"]["steps_to_val_target"] == 80
    assert timed["adapter.method=lora, train.learning_rate=0.001"]["steps_to_val_target"] == 80
    assert "Chosen on validation for each setting" in leaderboard.markdown(rows, None, scoring)


def test_the_verdict_says_beyond_or_within_the_interval():
    from fintune.compare.scoring import CLASSIFICATION
    from fintune.compare.verdict import versus_baselines

    test = {"mcc": 0.20, "ci95": {"mcc": [0.05, 0.35]}}
    baselines = {"majority": {"mcc": 0.0}, "momentum": {"mcc": 0.10}, "tfidf_lr": {"mcc": 0.30}}
    record = {"run_info": {"run_dir": "r"}, "metrics": {"test": test, "baselines": baselines}}
    out = versus_baselines({"setting": "s", "runs": ["r"]}, [record], "mcc", CLASSIFICATION)
    relations = {name: b["relation"] for name, b in out["baselines"].items()}
    assert relations == {
        "majority": "beaten beyond the interval",
        "momentum": "beaten within the interval",
        "tfidf_lr": "not beaten",
    }
    assert "beats majority beyond its interval, not the rest" in out["sentence"]


def test_a_forecaster_is_judged_against_the_baselines_on_the_days_it_parsed():
    from fintune.compare.scoring import FORECASTING
    from fintune.compare.verdict import versus_baselines

    test = {"mase": 4.0, "ci95": {"mase": [3.5, 4.5]}}
    # over every day naive_last errs far more; over the model's parsed days only a little
    naive = {"mase": 6.0, "on_model_days": {"all": {"mase": 4.2}}}
    record = {"run_info": {"run_dir": "r"}, "metrics": {"test": test, "baselines": {"naive_last": naive}}}
    out = versus_baselines({"setting": "s", "runs": ["r"]}, [record], "loss", FORECASTING)
    assert out["metric"] == "mase"
    assert out["baselines"]["naive_last"] == {"value": 4.2, "relation": "beaten within the interval"}


def test_trend_sweeps_get_every_settings_backtest_beside_one_buy_and_hold(tmp_path):
    from fintune.compare.backtests import backtest_table

    def backtest(total: float) -> dict:
        strategy = {"total_return": total, "sharpe": 1.0, "max_drawdown": -0.1, "hit_rate": 0.5}
        hold = {"total_return": -0.2, "sharpe": -1.0, "max_drawdown": -0.3}
        return {"strategy_long_flat": strategy, "strategy_long_short": strategy, "buy_and_hold": hold}

    first = {name: {"metrics": {"backtest": backtest(total)}} for name, total in (("a", 0.1), ("b", 0.3))}
    frame = backtest_table(first | {"encoder": {"metrics": {}}}, tmp_path)
    assert list(frame["setting"]) == ["a", "a", "b", "b", "buy and hold"]
    assert frame["total_return"].tolist() == [0.1, 0.1, 0.3, 0.3, -0.2]
    assert "| buy and hold |  | -0.2000 |" in (tmp_path / "backtests.md").read_text()
    assert backtest_table({"x": {"metrics": {}}}, tmp_path / "none") is None
