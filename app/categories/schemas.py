from __future__ import annotations

from pydantic import Field

from app.schemas import AppModel
from app.vocabulary import CategoryKey


class CategoryRead(AppModel):
    """One of the chart's four assistance categories."""

    key: CategoryKey = Field(description="Stable key, used in query parameters.")
    position: int = Field(description="Column order in the chart, from 1.", examples=[2])
    label: str = Field(description="Short human label.", examples=["Lethal aid"])
    definition: str = Field(description="What a `yes` in this category means.")
