"""Is a finished run evaluated on the data it was made with? The sha256 of every data file the run recorded
(`meta.data_sha256`) against the files as they are now. A changed file stops `fintune eval`, `fintune backtest`
and the ONNX export with exit 2, unless the user says `--allow-changed-data`; then the output records it."""

from __future__ import annotations

import json
from pathlib import Path

from fintune.data.dataset import file_sha256
from fintune.errors import FintuneError


def changed_data(run_dir: Path, current: dict[str, str]) -> list[str]:
    """The data files whose sha256 differs from the run's record, or that the run recorded and are now missing."""
    recorded = json.loads((Path(run_dir) / "metrics.json").read_text(encoding="utf-8")).get("meta", {})
    changed = []
    for path, digest in (recorded.get("data_sha256") or {}).items():
        now = current.get(path) or (file_sha256(Path(path)) if Path(path).is_file() else None)
        if now != digest:
            changed.append(path)
    return changed


def check_data(run_dir: Path, current: dict[str, str], allow_changed: bool) -> dict:
    """{} when the data is the run's; else stop with one line naming the first changed file, or (allowed) return
    the `data_changed` note that the output records."""
    changed = changed_data(run_dir, current)
    if not changed:
        return {}
    if not allow_changed:
        more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
        raise FintuneError(
            f"data file '{changed[0]}'{more} changed since run '{Path(run_dir).name}' was made (sha256 differs or the "
            "file is gone); its numbers would not be the run's. Pass --allow-changed-data to go on anyway"
        )
    return {"data_changed": {"files": changed, "allowed_by": "--allow-changed-data"}}
