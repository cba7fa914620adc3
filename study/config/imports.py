"""How imported files are read (``imports:`` in study.yaml)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from study.config.base import ConfigModel

__all__ = ["ImportsConfig"]


class ImportsConfig(ConfigModel):
    """Accepted shapes of cells in imported CSV files."""

    date_format: Literal["iso", "iso_or_danish"] = Field(
        default="iso",
        description="iso: dates only as YYYY-MM-DD; iso_or_danish: also DD-MM-YYYY (Danish Excel)",
    )
