"""A user's YAML file read so that its mistakes can be pointed at: every key's line, and a key given twice refused.

yaml.safe_load keeps the last of two equal keys without a word, so `lr: 1e-4` further down silently wins over the
`lr: 1e-3` the user is looking at; here that is an error naming both lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fintune.errors import FintuneError


class YamlFile:
    """`data`: the parsed mapping; `line(key)`: the 1-based line of a dotted key (None when not in the file)."""

    def __init__(self, path: Path, what: str) -> None:
        self.path, self.what = path, what
        if not path.is_file():
            raise FintuneError(f"{what} '{path}' not found")
        try:
            text = path.read_text(encoding="utf-8")
            root = yaml.compose(text, Loader=yaml.SafeLoader)
            self.data = yaml.safe_load(text) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            raise FintuneError(f"{what} '{path}'{_where(e)} is not valid YAML: {_problem(e)}") from None
        if not isinstance(self.data, dict):
            raise FintuneError(f"{what} '{path}' must be a mapping of keys to values")
        self._lines: dict[str, int] = {}
        if root is not None:
            self._index(root, "")

    def line(self, dotted_key: str) -> int | None:
        return self._lines.get(dotted_key)

    def where(self, dotted_key: str) -> str:
        """`file line N` for the key, or the file alone when the key is not written in it."""
        line = self.line(dotted_key)
        return f"{self.what} '{self.path}', line {line}" if line else f"{self.what} '{self.path}'"

    def _index(self, node: Any, prefix: str) -> None:
        if not isinstance(node, yaml.MappingNode):
            return
        for key_node, value_node in node.value:
            key = f"{prefix}{key_node.value}"
            line = key_node.start_mark.line + 1
            if key in self._lines:
                raise FintuneError(
                    f"{self.what} '{self.path}', line {line}: key '{key}' is given twice (first on line "
                    f"{self._lines[key]}); YAML would silently keep only the last"
                )
            self._lines[key] = line
            self._index(value_node, key + ".")


def _where(e: Exception) -> str:
    """', line N' where the parser found the problem (PyYAML counts from 0)."""
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    return f", line {mark.line + 1}" if mark is not None else ""


def _problem(e: Exception) -> str:
    """What the parser found, e.g. "expected ',' or '}', but got '<stream end>'" (its context line, 'while parsing
    a flow mapping', says less); the whole message's first line for anything else."""
    problem = getattr(e, "problem", None)
    if problem:
        context = getattr(e, "context", None)
        return f"{problem} ({context})" if context else problem
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
