"""`make install` gives every user the library versions the suite last passed with (constraints.txt), so a new
release upstream cannot break a fresh clone unnoticed; `make test-newest` tries the newest ones on purpose."""

from __future__ import annotations

import os
import re
from importlib import metadata
from pathlib import Path

import pytest

CONSTRAINTS = Path(__file__).resolve().parents[1] / "constraints.txt"


def pinned() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: '{line}' is not NAME==VERSION"
            pins[_normal(name)] = version
    return pins


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.mark.skipif(bool(os.environ.get("FINTUNE_UNPINNED")), reason="make test-newest: newest releases on purpose")
def test_the_installed_libraries_are_the_pinned_ones():
    installed = {_normal(d.metadata["Name"]): d.version for d in metadata.distributions()}
    pins = pinned()
    assert {"torch", "transformers", "peft", "kernels"} <= pins.keys()
    differ = {
        name: (version, installed.get(name))
        for name, version in pins.items()
        if installed.get(name, "").split("+")[0] != version  # torch's local tag (+cpu) is the build, not the version
    }
    assert not differ, f"(pinned, installed) differ: {differ}; run `make install`, or `make lock` on purpose"


def test_every_library_fintune_needs_is_pinned():
    requirements = metadata.requires("fintune") or []
    needed = {_normal(re.split(r"[<>=!~; \[]", r, maxsplit=1)[0]) for r in requirements if "extra ==" not in r}
    assert needed <= pinned().keys(), f"not in constraints.txt: {sorted(needed - pinned().keys())}"
