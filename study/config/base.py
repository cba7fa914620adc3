"""The base model every configuration section derives from: unknown keys are errors."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["ConfigModel"]


class ConfigModel(BaseModel):
    """Strict, immutable configuration model: a misspelt key is an error, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)
