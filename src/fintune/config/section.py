"""The base of every config section: unknown keys are errors, assignments are validated, and each field's
docstring is its description (shown in errors and checked to exist by tests/test_config.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_attribute_docstrings=True)
