"""What reports say around the chart's values, stored beside them and never counted.

- A `Claim` is what one relay says a source (the chart) holds: a `cell` claim repeats one
  category's value for its countries (a corroboration, or, ranked `deprecated` with a
  reason, a misreport); a `lumped` claim names countries with no column at all (the Russian
  relays' ten). Neither ever becomes a value or makes one disputed.
- A `Denial` is a statement about the world by a government (or a third party) that
  contradicts a value, such as Serbia's ministers on lethal aid. It does not change what
  the chart assessed, and it is not `disputed` (which stays "two assessments disagree").
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, RevisionStamped, str_enum
from app.vocabulary import AssessedValue, CategoryKey, ClaimKind, ClaimRank, DateQualifier


class Claim(RevisionStamped, Base):
    """One relay's claim about what a source holds for some countries."""

    __tablename__ = "claims"
    __table_args__ = (Index("ix_claims_source_id", "source_id"),)

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[ClaimKind] = mapped_column(str_enum(ClaimKind, "claim_kind"))
    rank: Mapped[ClaimRank] = mapped_column(str_enum(ClaimRank, "claim_rank"))
    rank_reason: Mapped[str | None] = mapped_column(Text)
    # The relay making the claim, and the source it claims to report.
    source_id: Mapped[str] = mapped_column(String(100), ForeignKey("sources.id"))
    about_source_id: Mapped[str] = mapped_column(String(100), ForeignKey("sources.id"))
    countries: Mapped[list[str]] = mapped_column(JSON)
    # Only `cell` claims name a category and a value.
    category_key: Mapped[CategoryKey | None] = mapped_column(
        str_enum(CategoryKey, "claim_category_key")
    )
    value: Mapped[AssessedValue | None] = mapped_column(str_enum(AssessedValue, "claim_value"))
    stated_on: Mapped[date]
    stated_on_qualifier: Mapped[DateQualifier] = mapped_column(
        str_enum(DateQualifier, "claim_date_qualifier")
    )
    # Our English summary of what the relay says (see `language` for the original's).
    summary: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2))
    note: Mapped[str | None] = mapped_column(Text)

    @property
    def translated(self) -> bool:
        """Whether the summary is our English rendering of a report in another language."""
        return self.language != "en"


class Denial(RevisionStamped, Base):
    """A dated statement that contradicts one category's value for a country."""

    __tablename__ = "denials"
    __table_args__ = (Index("ix_denials_country_category", "country_code", "category_key"),)

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    country_code: Mapped[str] = mapped_column(String(2), ForeignKey("countries.code"))
    category_key: Mapped[CategoryKey] = mapped_column(str_enum(CategoryKey, "denial_category_key"))
    # The source whose assessment it contradicts (the chart).
    source_id: Mapped[str] = mapped_column(String(100), ForeignKey("sources.id"))
    speaker: Mapped[str] = mapped_column(String(300))
    speaker_role: Mapped[str] = mapped_column(String(300))
    stated_on: Mapped[date]
    # Our English summary of what was said.
    summary: Mapped[str] = mapped_column(Text)
    # Ids of the reports (sources) in which the statement is found.
    reported_in: Mapped[list[str]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
