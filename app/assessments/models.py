from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from app.db import Base, RevisionStamped, UTCDateTime, str_enum
from app.sources.models import Source
from app.vocabulary import AssessedValue, CategoryKey, DateQualifier


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
    relayed_through: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
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

    @property
    def relay_chain(self) -> list[RelayHopView]:
        """The chain by which the value is known, in order: the source, the hops it was
        relayed through, and the report we read (sources looked up in this session)."""
        session = object_session(self)
        ids = [*(self.relayed_through or ()), *filter(None, [self.reported_via_id])]
        hops = [self.source]
        for hop_id in ids:
            hop = session.get(Source, hop_id) if session is not None else None
            if hop is not None:
                hops.append(hop)
        return [RelayHopView(hop) for hop in hops]

    @property
    def evidence_translated(self) -> bool:
        """Whether the evidence is our English rendering of a report in another language."""
        return self.evidence_language is not None and self.evidence_language != "en"


class RelayHopView:
    """A source seen as a hop of a relay chain: a document's own date when it has no
    publication date (the chart)."""

    def __init__(self, source: Source) -> None:
        self.id = source.id
        self.title = source.title
        self.kind = source.kind
        self.publisher = source.publisher
        self.url = source.url
        self.language = source.language
        self.published_on = source.published_on or source.document_date
        self.published_on_qualifier = source.published_on_qualifier or DateQualifier.exact
        self.verification_status = source.verification_status
