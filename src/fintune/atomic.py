"""Outputs that appear whole or not at all: written under a temporary name beside the target, renamed into place
only when complete, removed on any error. A crash or Ctrl-C never leaves something that looks finished.

(A run folder has its own lifecycle in train/rundir.py: its `.partial` is kept after a crash on purpose, so that
`--resume` can continue from its checkpoints.)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fintune.errors import FintuneError


def partial_name(out: Path) -> Path:
    return out.with_name(out.name + ".partial")


def final_name(path: Path) -> Path:
    """What `partial_name` undoes: the path a `.partial` folder or file will have once complete."""
    return path.with_name(path.name.removesuffix(".partial"))


@contextmanager
def partial_folder(out: Path) -> Iterator[Path]:
    """Yields `<out>.partial` (created empty; it must not exist) to write into; on success it becomes `out`, which must
    be absent or an empty folder; on error it is removed."""
    partial = partial_name(out)
    partial.mkdir(parents=True)
    try:
        yield partial
        if out.is_dir():
            out.rmdir()  # only an empty folder may be replaced; a full one raises here, before anything is lost
        partial.rename(out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


@contextmanager
def partial_file(path: Path) -> Iterator[Path]:
    """Yields `<path>.part` to write; on success it replaces `path`, on error it is removed."""
    tmp = path.with_name(path.name + ".part")
    try:
        yield tmp
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """`path.write_text(text)`, but readers see the old file or the new one, never half of it."""
    with partial_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def check_writable_file(path: Path, option: str) -> None:
    """Refuse an output file that cannot be written, before the work that would fill it (minutes of scoring lost to
    a mistyped folder otherwise). `option` names where the path came from, e.g. '--output'."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise FintuneError(f"{option} '{path}' is a folder; give a file name inside it")
    if not folder.is_dir():
        if folder.exists():
            raise FintuneError(f"{option} '{path}': its folder '{folder}' is a file, not a folder")
        raise FintuneError(f"{option} '{path}': its folder '{folder}' does not exist; create the folder first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise FintuneError(f"{option} '{path}': folder '{folder}' is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise FintuneError(f"{option} '{path}' exists and is not writable")


def check_creatable_folder(path: Path, what: str) -> None:
    """Refuse a folder that could not be created where it is asked for: some folder above it is a file, or the
    nearest existing one is not writable. Found before the work, not when its first file is written."""
    path = Path(path).absolute()
    if path.exists() and not path.is_dir():
        raise FintuneError(f"{what} '{path}' is a file, not a folder")
    above = path
    while not above.exists():
        above = above.parent
    if not above.is_dir():
        raise FintuneError(f"{what} '{path}' cannot be made: '{above}' is a file, not a folder")
    if not path.exists() and not os.access(above, os.W_OK | os.X_OK):
        raise FintuneError(f"{what} '{path}' cannot be made: folder '{above}' is not writable")
