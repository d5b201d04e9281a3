from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

from app.schemas import (
    NO_NUL,
    SOURCE_ID_PATTERN,
    AppInput,
    AppModel,
    LongText,
    Publisher,
    ShortText,
    iso_date_text,
    not_after_today,
)
from app.vocabulary import SourceKind, VerificationStatus

Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s\x00]+$", max_length=2000)]
Classification = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)]
OPTIONAL_FIELDS = (
    "publisher",
    "url",
    "published_on",
    "document_date",
    "classification",
    "verification_note",
)


class SourceFields(AppInput):
    """The editable fields of a source, validated the same way for the API and seed files."""

    title: ShortText = Field(
        description="Title as published or as reported.", examples=["Statement on arms exports"]
    )
    kind: SourceKind = Field(description="What kind of source this is.")
    publisher: Publisher | None = Field(default=None, description="Who issued or published it.")
    url: Url | None = Field(default=None, description="Where it can be read (http/https).")
    published_on: date | None = Field(default=None, description="Publication date.")
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
    publisher: str | None = Field(description="Who issued or published it, where known.")
    url: str | None = Field(description="Where it can be read, where one exists.")
    published_on: date | None = Field(description="Publication date, where known.")
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
