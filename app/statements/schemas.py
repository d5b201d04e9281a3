"""Claims and denials as the seed files write them and the API serves them."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Self

from pydantic import Field, StringConstraints, field_validator, model_validator

from app.schemas import (
    SOURCE_ID_PATTERN,
    AppInput,
    AppModel,
    CountryCode,
    LanguageCode,
    LongText,
    Publisher,
    SourceId,
    blank_to_none,
    iso_date_text,
    not_after_today,
)
from app.vocabulary import AssessedValue, CategoryKey, ClaimKind, ClaimRank, DateQualifier

StatementId = Annotated[str, StringConstraints(pattern=SOURCE_ID_PATTERN, max_length=100)]
Countries = Annotated[list[CountryCode], Field(min_length=1, max_length=100)]


class ClaimSeedRow(AppInput):
    """A record of claims.yaml: what one relay says a source holds for some countries."""

    id: StatementId
    kind: ClaimKind
    rank: ClaimRank = ClaimRank.normal
    rank_reason: LongText | None = None
    source: SourceId
    about: SourceId
    countries: Countries
    category: CategoryKey | None = None
    value: AssessedValue | None = None
    stated_on: date
    stated_on_qualifier: DateQualifier = DateQualifier.exact
    summary: LongText
    language: LanguageCode
    note: LongText | None = None

    _blank = field_validator("rank_reason", "category", "value", "note", mode="before")(
        blank_to_none
    )
    _date = field_validator("stated_on", mode="before")(iso_date_text)
    _past = field_validator("stated_on")(not_after_today)

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.kind is ClaimKind.lumped and (self.category or self.value):
            raise ValueError(
                "a lumped claim names no column: remove category and value (it must never "
                "become a value), or make it a cell claim"
            )
        if self.kind is ClaimKind.cell and (self.category is None or self.value is None):
            raise ValueError("a cell claim names its category and value")
        if self.rank is ClaimRank.deprecated and self.rank_reason is None:
            raise ValueError("a deprecated claim says why in rank_reason")
        if len(set(self.countries)) != len(self.countries):
            raise ValueError("countries lists a country more than once")
        return self


class DenialSeedRow(AppInput):
    """A record of denials.yaml: a dated statement contradicting an assessment's value."""

    id: StatementId
    country: CountryCode
    category: CategoryKey
    source: SourceId
    speaker: Publisher
    speaker_role: Publisher
    stated_on: date
    summary: LongText
    reported_in: Annotated[list[SourceId], Field(min_length=1, max_length=20)]
    note: LongText | None = None

    _blank = field_validator("note", mode="before")(blank_to_none)
    _date = field_validator("stated_on", mode="before")(iso_date_text)
    _past = field_validator("stated_on")(not_after_today)


class ClaimRead(AppModel):
    """What one relay says a source holds: never a value, never a dispute."""

    id: str = Field(description="Stable slug.", examples=["inosmi-ten-declining-2023-04-17"])
    kind: ClaimKind = Field(
        description="`lumped`: countries named with no column (never a value); `cell`: one "
        "category's value as this relay reports it."
    )
    rank: ClaimRank = Field(
        description="`deprecated` for a relay known to misreport (see `rank_reason`); such a "
        "claim is kept for the record and never counts."
    )
    rank_reason: str | None = Field(description="Why the claim is deprecated.")
    source_id: str = Field(description="The relay making the claim.")
    about_source_id: str = Field(
        description="The source it claims to report.", examples=["us-europe-response-chart-2023"]
    )
    countries: list[str] = Field(description="Alpha-2 codes of the countries it names.")
    category: CategoryKey | None = Field(
        validation_alias="category_key", description="The column, for a `cell` claim."
    )
    value: AssessedValue | None = Field(description="The value it reports, for a `cell` claim.")
    stated_on: date = Field(description="The relay's date (or its lower bound).")
    stated_on_qualifier: DateQualifier = Field(
        description="`on_or_after` when `stated_on` is only a lower bound."
    )
    summary: str = Field(description="What the relay says, in our own English words.")
    language: str = Field(description="ISO 639-1 code of the relay's language.", examples=["ru"])
    translated: bool = Field(
        description="True when the relay is not in English: the English wording is ours."
    )
    note: str | None = Field(description="Caveats or context.")


class DenialRead(AppModel):
    """A statement that contradicts a value: served beside it, never replacing it. The
    chart's assessment stands as assessed; `disputed` stays "two assessments disagree"."""

    id: str = Field(description="Stable slug.", examples=["rs-defence-minister-2023-04-12"])
    country_code: str = Field(description="Alpha-2 code of the country.", examples=["RS"])
    category: CategoryKey = Field(
        validation_alias="category_key", description="The category whose value it contradicts."
    )
    source_id: str = Field(description="The source whose assessment it contradicts.")
    speaker: str = Field(description="Who made it.", examples=["Miloš Vučević"])
    speaker_role: str = Field(description="In what role.", examples=["Serbian defence minister"])
    stated_on: date = Field(description="When it was made.", examples=["2023-04-12"])
    summary: str = Field(description="What was said, in short, in our own English words.")
    reported_in: list[str] = Field(description="Ids of the reports (sources) that carry it.")
    note: str | None = Field(description="Caveats or context.")
