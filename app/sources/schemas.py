from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Self

from pydantic import (
    BeforeValidator,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from app.schemas import (
    NO_NUL,
    SOURCE_ID_PATTERN,
    AppInput,
    AppModel,
    CountryCode,
    LanguageCode,
    LongText,
    Publisher,
    ShortText,
    SourceIds,
    iso_date_text,
    not_after_today,
)
from app.vocabulary import DateQualifier, SourceKind, VerificationStatus

Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s\x00]+$", max_length=2000)]
Classification = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)]
OPTIONAL_FIELDS = (
    "publisher",
    "url",
    "published_on",
    "published_on_qualifier",
    "document_date",
    "classification",
    "verification_note",
    "coverage",
    "language",
    "relays",
)


def _json_integer(value: object) -> object:
    """A JSON integer, as JSON Schema defines it: not a string, not a boolean."""
    if isinstance(value, str | bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


class SourceCoverage(AppInput):
    """Which governments a source assessed, as far as we know: how many, which of them we
    know were among them, and whether the complete list is public."""

    # As JSON Schema reads them: `0` is not `false`, `"38"` is no count, `38.0` is one.
    count: Annotated[int, Field(ge=0, le=1000), BeforeValidator(_json_integer)] | None = Field(
        default=None,
        description="How many governments the source assessed, as reported; null if not known.",
        examples=[38],
    )
    known: list[CountryCode] = Field(
        default_factory=list,
        max_length=1000,
        json_schema_extra={"uniqueItems": True},
        description="Alpha-2 codes of governments known to be among those assessed.",
        examples=[["RS", "AT", "MT"]],
    )
    complete_list_public: StrictBool = Field(
        description="Whether the complete list of governments assessed is public, as far as "
        "we know. When it is not, a government outside `known` may or may not have been "
        "assessed.",
        examples=[False],
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if len(set(self.known)) != len(self.known):
            raise ValueError("`known` lists a country more than once")
        if self.count is not None and len(self.known) > self.count:
            # Its own error type: a bound between two fields, which JSON Schema cannot state.
            raise PydanticCustomError(
                "coverage_count",
                "`known` lists {known} countries, more than `count` ({count})",
                {"known": len(self.known), "count": self.count},
            )
        return self


class SourceFields(AppInput):
    """The editable fields of a source, validated the same way for the API and seed files."""

    title: ShortText = Field(
        description="Title as published or as reported.", examples=["Statement on arms exports"]
    )
    kind: SourceKind = Field(description="What kind of source this is.")
    publisher: Publisher | None = Field(
        default=None,
        description="Who issued or published it, or to whom it is attributed (say which).",
    )
    url: Url | None = Field(default=None, description="Where it can be read (http/https).")
    published_on: date | None = Field(default=None, description="Publication date.")
    published_on_qualifier: DateQualifier | None = Field(
        default=None,
        description="`on_or_after` when `published_on` is only a lower bound (the report "
        "carries no date but cites one published that day); null or `exact` otherwise.",
    )
    document_date: date | None = Field(default=None, description="Date the document carries.")
    classification: Classification | None = Field(
        default=None, description="Security classification marking, where relevant."
    )
    verification_status: VerificationStatus = Field(
        description="How far the source's authenticity has been established."
    )
    verification_note: LongText | None = Field(
        default=None, description="What is and is not known of its origin."
    )
    coverage: SourceCoverage | None = Field(
        default=None,
        description="Which governments it assessed, as far as known; null if not known or "
        "not relevant.",
    )
    language: LanguageCode | None = Field(
        default=None,
        description="ISO 639-1 code of the language it is written in.",
        examples=["sl"],
    )
    relays: SourceIds | None = Field(
        default=None,
        description="Ids of the sources it carried values from (its upstream hops in a relay "
        "chain); each must exist, and no chain may loop back.",
        examples=[["newsweek-leaked-europe-chart-2023"]],
    )

    _dates = field_validator("published_on", "document_date", mode="before")(iso_date_text)
    # A publication has happened; a document may carry any date it likes.
    _published = field_validator("published_on")(not_after_today)


class SourceCreate(SourceFields):
    """A new source."""

    id: Annotated[str, StringConstraints(pattern=SOURCE_ID_PATTERN, max_length=100)] = Field(
        description="Stable slug: lower-case words joined by hyphens.",
        examples=["serbia-presidency-statement-2023-04"],
    )


class SourceUpdate(AppInput):
    """Fields to change (JSON merge-patch style: absent fields stay, null clears)."""

    # SkipJsonSchema[None]: omitting keeps the value; these cannot be cleared with null.
    title: ShortText | SkipJsonSchema[None] = Field(default=None, description="New title.")
    kind: SourceKind | SkipJsonSchema[None] = Field(default=None, description="New kind.")
    publisher: Publisher | None = Field(default=None, description="New publisher, or null.")
    url: Url | None = Field(default=None, description="New URL, or null.")
    published_on: date | None = Field(default=None, description="New date, or null.")
    document_date: date | None = Field(default=None, description="New date, or null.")
    classification: Classification | None = Field(default=None, description="New marking.")
    verification_status: VerificationStatus | SkipJsonSchema[None] = Field(
        default=None, description="New status."
    )
    verification_note: LongText | None = Field(default=None, description="New note, or null.")
    coverage: SourceCoverage | None = Field(
        default=None, description="New coverage (replaces the whole object), or null."
    )
    published_on_qualifier: DateQualifier | None = Field(
        default=None, description="New date qualifier, or null."
    )
    language: LanguageCode | None = Field(default=None, description="New language, or null.")
    relays: SourceIds | None = Field(
        default=None, description="New upstream hops (replaces the list), or null."
    )

    _dates = field_validator("published_on", "document_date", mode="before")(iso_date_text)
    _published = field_validator("published_on")(not_after_today)


class SourceRead(AppModel):
    """A document or report that asserts or relays assessed values."""

    id: str = Field(description="Stable slug.", examples=["us-europe-response-chart-2023"])
    title: str = Field(
        examples=["Europe | Response to Ongoing Russia-Ukraine Conflict"],
        description="Title as published or as reported.",
    )
    kind: SourceKind = Field(description="What kind of source this is.")
    publisher: str | None = Field(
        description="Who issued or published it, or to whom it is attributed, where known; "
        "an attribution is not a verified fact (see `verification_status`)."
    )
    url: str | None = Field(description="Where it can be read, where one exists.")
    published_on: date | None = Field(description="Publication date, where known.")
    published_on_qualifier: DateQualifier | None = Field(
        default=None,
        description="`on_or_after` when `published_on` is only a lower bound (the page carries "
        "no date); null or `exact` when it is the date.",
    )
    document_date: date | None = Field(
        description="Date the document itself carries, where known.", examples=["2023-03-02"]
    )
    classification: str | None = Field(
        description="Security classification marking, where relevant.",
        examples=["SECRET//NOFORN"],
    )
    verification_status: VerificationStatus = Field(
        description="How far the source's authenticity has been established."
    )
    verification_note: str | None = Field(description="What is and is not known of its origin.")
    coverage: SourceCoverage | None = Field(
        default=None,
        description="Which governments it assessed, as far as known (null: nothing known). "
        "A government it may not have covered reads `unknown` unless another source reports "
        "it: `unknown` means no source we hold reports a value.",
    )
    language: str | None = Field(
        default=None,
        description="ISO 639-1 code of the language it is written in, where known.",
        examples=["en"],
    )
    relays: list[str] | None = Field(
        default=None,
        description="Ids of the sources it carried values from: its upstream hops in relay "
        "chains (Delo relays Newsweek, which relays the chart). Null: first-hand, or none "
        "recorded.",
    )
    retracted_at: datetime | None = Field(
        default=None,
        description="When it was retracted (`DELETE /sources/{id}`); a retracted source's "
        "assessments count for no position, but stay readable.",
    )
    retraction_note: str | None = Field(default=None, description="Why it was retracted.")


class RelayHop(AppModel):
    """One hop of a relay chain: the source that asserts a value, or a report that carried
    it on. Enough to cite the hop without following its id."""

    id: str = Field(description="The source's id.", examples=["delo-pentagon-slovenia-2023"])
    title: str = Field(description="Title as published or as reported.")
    kind: SourceKind = Field(description="What kind of source it is.")
    publisher: str | None = Field(description="Who published it, or to whom it is attributed.")
    url: str | None = Field(
        description="Where it can be read; null when unknown (Newsweek's page is not in any "
        "copy we hold) or not to be linked (the leaked chart)."
    )
    language: str | None = Field(description="ISO 639-1 code of its language, where known.")
    published_on: date | None = Field(
        description="Its date: publication date, or for a document the date it carries."
    )
    published_on_qualifier: DateQualifier = Field(
        description="`on_or_after` when `published_on` is only a lower bound."
    )
    verification_status: VerificationStatus = Field(
        description="How far its authenticity has been established."
    )
