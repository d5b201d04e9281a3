from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BeforeValidator, Field, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

from app.countries.schemas import CountryRead
from app.schemas import (
    AppInput,
    AppModel,
    LanguageCode,
    LongText,
    Page,
    SourceId,
    SourceIds,
    iso_date_text,
    not_after_today,
)
from app.sources.schemas import RelayHop
from app.statements.schemas import ClaimRead, DenialRead
from app.vocabulary import (
    AssessedValue,
    CategoryKey,
    Coverage,
    PositionValue,
    SourceKind,
    VerificationStatus,
)


def _not_unknown(value: object) -> object:
    if isinstance(value, str) and value.strip() == "unknown":
        raise ValueError(
            "'unknown' is never stored: leave the row out when no source reports a value"
        )
    return value


class AssessmentCreate(AppInput):
    """A new assessment: one source's value for one country and category, as of a date.

    The seed loader validates every row of assessments.csv with this same model.
    """

    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = Field(
        description="Alpha-2 code of a country in the catalogue (case-insensitive).",
        examples=["RS"],
    )
    category: CategoryKey = Field(description="The category assessed.")
    value: AssessedValue = Field(description="The value the source asserts (never `unknown`).")
    source: SourceId = Field(
        description="Id of the source asserting the value.",
        examples=["us-europe-response-chart-2023"],
    )
    reported_via: SourceId | None = Field(
        default=None,
        description="Id of the report through which the value is known, if not first-hand.",
        examples=["insight-news-how-serbia-let-putin-down"],
    )
    relayed_through: SourceIds | None = Field(
        default=None,
        description="Ids of the reports between the source and `reported_via`, nearest the "
        'source first (the chart -> Newsweek -> Delo: `["newsweek-..."]`). A hop that '
        "names its own upstream hops (`relays`) must follow one of them: a skipped hop is "
        "refused.",
    )
    as_of: date = Field(description="Date the value is asserted to hold.", examples=["2023-03-02"])
    evidence: LongText = Field(
        description="Short paraphrase of what supports the value, in our own English words."
    )
    evidence_language: LanguageCode | None = Field(
        default=None,
        description="ISO 639-1 code of the report the evidence is drawn from; other than "
        "`en`, the English wording is ours.",
        examples=["sl"],
    )
    note: LongText | None = Field(default=None, description="Caveats or context.")

    _date = field_validator("as_of", mode="before")(iso_date_text)
    _past = field_validator("as_of")(not_after_today)
    _value = field_validator("value", mode="before")(_not_unknown)

    @field_validator("country", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


class AssessmentUpdate(AppInput):
    """Fields to change; country, category and source identify the assessment and stay."""

    # SkipJsonSchema[None]: omitting keeps the value; these cannot be cleared with null.
    value: AssessedValue | SkipJsonSchema[None] = Field(default=None, description="New value.")
    reported_via: SourceId | None = Field(default=None, description="New relaying report, or null.")
    relayed_through: SourceIds | None = Field(
        default=None, description="New hops between the source and `reported_via`, or null."
    )
    evidence_language: LanguageCode | None = Field(
        default=None, description="New language of the evidence's report, or null."
    )
    as_of: date | SkipJsonSchema[None] = Field(default=None, description="New as-of date.")
    evidence: LongText | SkipJsonSchema[None] = Field(
        default=None, description="New evidence text."
    )
    note: LongText | None = Field(default=None, description="New note, or null.")

    _value = field_validator("value", mode="before")(_not_unknown)
    _date = field_validator("as_of", mode="before")(iso_date_text)
    _past = field_validator("as_of")(not_after_today)


class AssessmentRead(AppModel):
    """What one source says of one country in one category, as of a date."""

    id: int = Field(description="Stable identifier.")
    country_code: str = Field(description="Alpha-2 code of the country assessed.", examples=["RS"])
    category: CategoryKey = Field(
        validation_alias="category_key", description="The category assessed."
    )
    value: AssessedValue = Field(description="The value the source asserts.")
    source_id: str = Field(
        description="The source asserting the value.", examples=["us-europe-response-chart-2023"]
    )
    reported_via_id: str | None = Field(
        description="The report through which the value is known, if not first-hand.",
        examples=["insight-news-how-serbia-let-putin-down"],
    )
    relayed_through: Annotated[list[str], BeforeValidator(lambda v: v or [])] = Field(
        default_factory=list,
        description="Ids of the reports between the source and `reported_via`, nearest the "
        "source first.",
    )
    relay_chain: list[RelayHop] = Field(
        default_factory=list,
        description="The whole chain by which the value is known, in order: the source (the "
        "chart), each report that carried it on, and the one we read (`reported_via`), each "
        "with its publisher, address, language and date.",
    )
    as_of: date = Field(description="Date the value is asserted to hold.", examples=["2023-03-02"])
    evidence: str = Field(description="Short paraphrase of what supports the value.")
    evidence_language: str | None = Field(
        default=None,
        description="ISO 639-1 code of the report the evidence is drawn from, where recorded.",
        examples=["sl"],
    )
    evidence_translated: bool = Field(
        default=False,
        description="True when that report is not in English: the English wording of "
        "`evidence` is ours, not the report's.",
    )
    note: str | None = Field(description="Caveats, ambiguities, or context.")
    retracted_at: datetime | None = Field(
        default=None,
        description="When it was retracted; retracted assessments count for no position.",
    )
    retraction_note: str | None = Field(default=None, description="Why it was retracted.")
    source_retracted_at: datetime | None = Field(
        default=None,
        description="When its source was retracted; an assessment of a retracted source "
        "counts for no position, though it stays readable.",
    )


class AssessmentPage(Page[AssessmentRead]):
    """A page of assessments, newest `as_of` first."""


class PositionSource(AppModel):
    """A source behind a position, with what a client needs to weigh it without following
    its id (`GET /sources/{id}` has the rest)."""

    id: str = Field(description="The source's id.", examples=["us-europe-response-chart-2023"])
    kind: SourceKind = Field(description="What kind of source it is.", examples=["leaked_document"])
    verification_status: VerificationStatus = Field(
        description="How far its authenticity has been established: flag `unverified`.",
        examples=["unverified"],
    )


class PositionRead(AppModel):
    """The derived position of a country in one category, with what stands behind it."""

    category: CategoryKey = Field(description="The category.")
    value: PositionValue = Field(
        description="Value of the most recent assessment; `unknown` when no source we hold "
        "reports one (which includes a government a source may not have covered)."
    )
    disputed: bool = Field(
        description="True when the latest assessments of different sources disagree."
    )
    as_of: date | None = Field(
        description="Date of the assessment the value comes from; null when `unknown`.",
        examples=["2023-03-02"],
    )
    source_ids: list[str] = Field(
        description="Sources whose latest assessment stands behind this position, newest first "
        "(the ids of `sources`, kept for compatibility)."
    )
    sources: list[PositionSource] = Field(
        description="The same sources, in the same order, each with its kind and "
        "verification status."
    )
    assessments: list[AssessmentRead] = Field(
        description="The latest assessment of each source, newest first; empty when `unknown`."
    )
    coverage: Coverage = Field(
        description="`reported` (a value is known); `covered_not_reported` (the government is "
        "a row a source is known to have assessed, the chart's 19 known rows, but no report "
        "we hold gives this value); `not_known_covered` (no source we hold is known to have "
        "assessed it). Tells the two kinds of `unknown` apart; neither is `no`."
    )
    claims: list[ClaimRead] = Field(
        description="What relays say the source holds for this cell, oldest first: "
        "corroborations (rank `normal`) and known misreports (rank `deprecated`, with the "
        "reason). Never counted: they neither change the value nor make it disputed."
    )
    denials: list[DenialRead] = Field(
        description="Dated statements that contradict this value (by the assessed government "
        "or a third party), oldest first, as of `as_of`. They stand beside the value, which "
        "stays as the source assessed it, and are not `disputed`."
    )


class CountryPositions(AppModel):
    """A country's position in each of the four categories, in category order."""

    country: CountryRead = Field(description="The country.")
    as_of: date | None = Field(description="The as-of date requested; null means latest.")
    source: str | None = Field(description="The source the view is restricted to, if any.")
    positions: list[PositionRead] = Field(description="One entry per category, in category order.")
    coverage: Coverage = Field(
        description="`reported` when any category has a value; else `covered_not_reported` "
        "(a row a source is known to have assessed) or `not_known_covered`."
    )
    claims: list[ClaimRead] = Field(
        description="Claims about the country that name no column (the Russian relays' "
        "lumped ten, Greece among them), oldest first: never a value, never a dispute."
    )


class CountryPositionsPage(Page[CountryPositions]):
    """A page of every country's positions: one item per country of the catalogue, by name."""


class ValueCounts(AppModel):
    """How many countries read each value."""

    yes: int = Field(description="Countries reading `yes`.", examples=[1])
    no: int = Field(description="Countries reading `no`.", examples=[2])
    decreasing: int = Field(description="Countries reading `decreasing`.", examples=[0])
    unknown: int = Field(
        description="Countries reading `unknown`: no source we hold reports a value (which "
        "includes governments a source may not have covered).",
        examples=[36],
    )


class CoverageCounts(AppModel):
    """How many countries are of each coverage."""

    reported: int = Field(
        description="Countries with a value in at least one category.", examples=[16]
    )
    covered_not_reported: int = Field(
        description="Countries with no value that a source is known to have assessed (rows "
        "of the chart whose values no report gives).",
        examples=[3],
    )
    not_known_covered: int = Field(
        description="Countries with no value that no source we hold is known to have assessed.",
        examples=[20],
    )


class CategoryStats(AppModel):
    """Counts of values in one category."""

    category: CategoryKey = Field(description="The category.")
    counts: ValueCounts = Field(description="Countries per value; they add up to `countries`.")


class PositionStats(AppModel):
    """For each category, how many countries of the catalogue read each value."""

    as_of: date | None = Field(description="The as-of date requested; null means latest.")
    source: str | None = Field(description="The source the counts are restricted to, if any.")
    group: str | None = Field(description="The group whose members are counted, if any.")
    countries: int = Field(
        description="Countries counted: the catalogue, or the group's members on `as_of` "
        "(today without it).",
        examples=[39],
    )
    coverage: CoverageCounts = Field(
        description="Countries counted, by coverage: `reported` is how many governments have "
        "at least one value; the two others tell apart the kinds of all-`unknown` country."
    )
    categories: list[CategoryStats] = Field(
        description="One entry per category, in category order."
    )
