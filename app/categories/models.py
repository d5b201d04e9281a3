from __future__ import annotations

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, RevisionStamped, str_enum
from app.vocabulary import CategoryKey


class Category(RevisionStamped, Base):
    """One of the four categories the chart is reported to assess."""

    __tablename__ = "categories"

    key: Mapped[CategoryKey] = mapped_column(
        str_enum(CategoryKey, "category_key"),
        primary_key=True,
    )
    position: Mapped[int] = mapped_column(Integer, unique=True)
    label: Mapped[str] = mapped_column(String(200))
    definition: Mapped[str] = mapped_column(Text)
