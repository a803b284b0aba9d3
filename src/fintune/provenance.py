"""What a result was made with: package versions, seed, data fingerprints, git commit."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("fintune", "torch", "transformers", "peft", "accelerate", "scikit-learn", "numpy", "pandas")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def git_commit(cwd: Path | None = None) -> str | None:
    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=cwd, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() or None if res.returncode == 0 else None


def meta_block(seed: int, fingerprints: dict[str, str]) -> dict:
    return {"versions": versions(), "seed": seed, "data_sha256": fingerprints, "git_commit": git_commit()}
