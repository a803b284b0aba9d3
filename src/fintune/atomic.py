"""Outputs that appear whole or not at all: written under a temporary name beside the target, renamed into place
only when complete, removed on any error. A crash or Ctrl-C never leaves something that looks finished.

(A run folder has its own lifecycle in train/rundir.py: its `.partial` is kept after a crash on purpose, so that
`--resume` can continue from its checkpoints.)
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def partial_name(out: Path) -> Path:
    return out.with_name(out.name + ".partial")


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
