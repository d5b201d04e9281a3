from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, RevisionStamped, UTCDateTime, str_enum
from app.sources.models import Source
from app.vocabulary import AssessedValue, CategoryKey


class Assessment(RevisionStamped, Base):
    """One source's value for a country in a category, as of a date.

    `source_id` is what asserts the value (e.g. the leaked chart); `reported_via_id` is the
    report through which we know it (e.g. Delo relaying the chart), and `relayed_through`
    the hops between the two, nearest the source first (e.g. Newsweek): the relay chain is
    source, *relayed_through, reported_via.
    """

    __tablename__ = "assessments"
    __table_args__ = (
        UniqueConstraint("country_code", "category_key", "source_id", "as_of"),
        Index("ix_assessments_country_category_as_of", "country_code", "category_key", "as_of"),
        Index("ix_assessments_source_id", "source_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    country_code: Mapped[str] = mapped_column(String(2), ForeignKey("countries.code"))
    category_key: Mapped[CategoryKey] = mapped_column(
        str_enum(CategoryKey, "category_key", constrained=False),
        ForeignKey("categories.key"),
    )
    source_id: Mapped[str] = mapped_column(String(100), ForeignKey("sources.id"))
    reported_via_id: Mapped[str | None] = mapped_column(String(100), ForeignKey("sources.id"))
    relayed_through: Mapped[list[str] | None] = mapped_column(JSON)
    as_of: Mapped[date]
    value: Mapped[AssessedValue] = mapped_column(str_enum(AssessedValue, "assessed_value"))
    evidence: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    # ISO 639-1 code of the report the evidence is drawn from; other than `en`, the English
    # wording is ours.
    evidence_language: Mapped[str | None] = mapped_column(String(2))
    # A retraction keeps the row (and its history) but takes it out of every position.
    retracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retraction_note: Mapped[str | None] = mapped_column(Text)
    # Optimistic concurrency: every UPDATE checks and bumps it (the resource's ETag).
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    # The source asserting the value, loaded with the row: positions show its kind and
    # verification status, and a retracted source takes its assessments out of them.
    source: Mapped[Source] = relationship(
        foreign_keys=[source_id], lazy="joined", innerjoin=True, viewonly=True
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  # SQLAlchemy's API

    @property
    def source_retracted_at(self) -> datetime | None:
        """When the source was retracted (then this assessment counts for no position)."""
        return self.source.retracted_at
