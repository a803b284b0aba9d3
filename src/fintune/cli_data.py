"""`fintune data list | show | export`: the registered datasets, and any data file, as a run would read them.

Imports sit inside the commands, as in cli.py: `fintune data list` should not pay for torch.
"""

from __future__ import annotations

from pathlib import Path

import typer

from fintune.cli_errors import user_errors
from fintune.errors import FintuneError

data_app = typer.Typer(no_args_is_help=True, help="Registered datasets.")


@data_app.command("list")
def data_list():
    """Registered dataset names."""
    from fintune.data import list_sources

    for name, description in list_sources().items():
        print(f"{name:<22} {description}")


@data_app.command("show")
@user_errors
def data_show(
    name: str = typer.Argument(..., help="Registered dataset name or file path."),
    overrides: list[str] | None = typer.Argument(None, help="data.key=value, e.g. data.text_column=sentence"),
):
    """Split sizes, label counts and three example rows per split of a dataset, as a run would see it."""
    from fintune.config.run import data_config
    from fintune.data import load_splits
    from fintune.inference.predictor import Predictor  # a teacher run labels data.signal.label: teacher:<run>

    if name == "windows":  # forecasting: windows, not labels
        from fintune.data.windows import load_window_splits

        windows = load_window_splits(data_config(name, overrides))
        print(f"windows of {', '.join(windows.bars)}, fields {windows.fields}: {windows.stats}")
        return
    splits = load_splits(data_config(name, overrides), teacher=Predictor.load)
    print(f"{name}: labels {splits.labels}")
    for split in ("train", "validation", "test"):
        frame = getattr(splits, split)
        print(f"  {split:<10} {len(frame):>6}  {frame['label'].value_counts().to_dict()}")
    st = splits.stats
    if "purged_train" in st:  # split by time
        print(f"  periods: {st['periods']}")
        print(f"  purged (label window crossing a boundary): {st['purged_train'] + st['purged_validation']}")
    else:
        copies = st["dropped_train_in_test"] + st["dropped_validation_in_test"]
        print(
            f"  removed from training as copies of test: {copies}, of validation: {st['dropped_train_in_validation']}"
        )
    for path, digest in splits.fingerprints().items():
        print(f"  {path}  sha256 {digest[:16]}...")
    for split in ("train", "validation", "test"):
        print(f"  first {split} examples:")
        for row in getattr(splits, split).head(3).itertuples():
            text = " ".join(str(row.text).split())
            print(f"    [{row.label}] {text[:100]}{'...' if len(text) > 100 else ''}")


@data_app.command("export")
@user_errors
def data_export(
    name: str = typer.Argument(..., help="Registered dataset name or file path."),
    overrides: list[str] | None = typer.Argument(None, help="data.key=value, e.g. data.text_column=sentence"),
    out: Path = typer.Option(..., "--out", help="Folder for the JSON files and dataset_info.json."),
    fmt: str = typer.Option("alpaca", "--format", help="alpaca or sharegpt"),
):
    """Write a dataset's splits as instruction JSON plus LLaMA-Factory's dataset_info.json."""
    from fintune.atomic import check_creatable_folder
    from fintune.config.run import data_config
    from fintune.data import load_splits
    from fintune.data.instruction_io import export_splits
    from fintune.inference.predictor import Predictor

    if fmt not in ("alpaca", "sharegpt"):
        raise FintuneError(f"--format must be alpaca or sharegpt, not '{fmt}'")
    check_creatable_folder(out, "--out")
    for path in export_splits(load_splits(data_config(name, overrides), teacher=Predictor.load), out, fmt):
        print(path)
