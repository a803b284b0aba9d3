"""The overlaid loss curves show both targets the convergence tables time, so a reader sees where each run got there."""

from fintune.compare import plots


def _record(val_losses):
    losses = [(step, 0, 1.0 / step) for step in range(1, 41)]
    return {"train_info": {"losses": losses, "val_curve": [(s, s * 1.0, v) for s, v in val_losses]}}


def test_both_targets_are_drawn(tmp_path, monkeypatch):
    drawn = {}
    monkeypatch.setattr(plots, "_save", lambda fig, path: drawn.setdefault("fig", fig) and path)
    records = {"lora": _record([(20, 0.5), (40, 0.3)]), "lora_plus": _record([(20, 0.4), (40, 0.35)])}
    plots.loss_curves(records, 0.05, tmp_path / "loss_curves.png", val_target=0.35)
    labels = drawn["fig"].axes[0].get_legend_handles_labels()[1]
    assert "target 0.050" in labels and "validation target 0.350" in labels


def test_without_validation_no_validation_target_is_drawn(tmp_path, monkeypatch):
    drawn = {}
    monkeypatch.setattr(plots, "_save", lambda fig, path: drawn.setdefault("fig", fig) and path)
    plots.loss_curves({"lora": _record([])}, 0.05, tmp_path / "loss_curves.png")
    assert not any("validation" in label for label in drawn["fig"].axes[0].get_legend_handles_labels()[1])
