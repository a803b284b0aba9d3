"""Many settings' confusion matrices wrap into rows, each titled with its axes on separate lines."""

from fintune.compare import plots


def _record(cm):
    return {"metrics": {"test": {"confusion_matrix": cm, "labels": ["none", "signal"]}}}


def test_ten_settings_wrap_into_rows_of_four(tmp_path, monkeypatch):
    drawn = {}
    monkeypatch.setattr(plots, "_save", lambda fig, path: drawn.setdefault("fig", fig) and path)
    records = {f"model-{i}, adapter.method=lora": _record([[90 - i, i], [3, 7]]) for i in range(10)}
    plots.confusion_matrices(records, tmp_path / "confusion_matrices.png")
    axes = drawn["fig"].axes
    shown = [ax for ax in axes if ax.axison]
    assert len(axes) == 12 and len(shown) == 10  # 3 rows of 4, the last two cells left blank
    assert {round(ax.get_position().x0, 3) for ax in shown} == {round(ax.get_position().x0, 3) for ax in axes[:4]}
    assert shown[9].get_title() == "model-9\nadapter.method=lora"
    assert [t.get_text() for t in shown[9].texts] == ["81", "9", "3", "7"]
