from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, RevisionStamped, UTCDateTime, str_enum
from app.vocabulary import DateQualifier, SourceKind, VerificationStatus


class Source(RevisionStamped, Base):
    """A document or report that asserts or relays assessed values."""

    __tablename__ = "sources"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    kind: Mapped[SourceKind] = mapped_column(str_enum(SourceKind, "source_kind"))
    publisher: Mapped[str | None] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(2000))
    published_on: Mapped[date | None]
    # `on_or_after`: `published_on` is only a lower bound (the page carries no date).
    published_on_qualifier: Mapped[DateQualifier | None] = mapped_column(
        str_enum(DateQualifier, "date_qualifier")
    )
    document_date: Mapped[date | None]
    classification: Mapped[str | None] = mapped_column(String(200))
    verification_status: Mapped[VerificationStatus] = mapped_column(
        str_enum(VerificationStatus, "verification_status")
    )
    verification_note: Mapped[str | None] = mapped_column(Text)
    # Which governments the source assessed, as far as known: {count, known, complete_list_public}.
    coverage: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # ISO 639-1 code of the language it is written in.
    language: Mapped[str | None] = mapped_column(String(2))
    # Ids of the sources it carried values from (its upstream hops), e.g. Delo -> Newsweek.
    relays: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    # A retraction keeps the row (and its history) but takes its assessments out of every
    # position.
    retracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retraction_note: Mapped[str | None] = mapped_column(Text)
    # Optimistic concurrency: every UPDATE checks and bumps it (the resource's ETag).
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  # SQLAlchemy's API
