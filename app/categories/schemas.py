from __future__ import annotations

from pydantic import Field

from app.schemas import AppModel
from app.vocabulary import CategoryKey


class CategoryRead(AppModel):
    """One of the four assistance categories the chart is reported to assess."""

    key: CategoryKey = Field(description="Stable key, used in query parameters.")
    position: int = Field(
        description="Its place in our fixed category order, from 1 (the article does not "
        "give the chart's own column order).",
        examples=[2],
    )
    label: str = Field(description="Short human label.", examples=["Lethal aid"])
    definition: str = Field(description="What a `yes` in this category means.")
