"""Shared schema building blocks: the base model, constrained types and pagination."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Generic, TypeVar

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError


class AppModel(BaseModel):
    """Base of every response model: readable from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


class AppInput(BaseModel):
    """Base of every input model: unknown fields are errors, never silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


SOURCE_ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
# Ids are INTEGER columns on both backends: anything larger can never exist.
MAX_ID = 2**31 - 1
# PostgreSQL text cannot hold U+0000: refuse it as invalid input, not a 500.
NO_NUL = r"^[^\x00]*$"

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
SourceId = Annotated[str, StringConstraints(pattern=SOURCE_ID_PATTERN, max_length=100)]

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=NO_NUL)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
Publisher = Annotated[str, StringConstraints(min_length=1, max_length=300, pattern=NO_NUL)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=NO_NUL)]


def _iso_639_1(value: str) -> str:
    if pycountry.languages.get(alpha_2=value) is None:
        raise PydanticCustomError(
            "language_code", "'{code}' is no ISO 639-1 language code", {"code": value}
        )
    return value


# A language, as ISO 639-1 writes it: two lower-case letters that name one (`en`, `sl`, `ru`).
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$"), AfterValidator(_iso_639_1)]
# The hops of a relay chain: source ids, at most a handful.
SourceIds = Annotated[list[SourceId], Field(max_length=20)]


def blank_to_none(value: object) -> object:
    """Empty text means "not given" (a blank CSV cell, an empty form field)."""
    return None if isinstance(value, str) and not value.strip() else value


def space_separated(value: object) -> object:
    """A list written in one CSV cell: items separated by spaces (`a b`)."""
    return value.split() if isinstance(value, str) else value


def iso_date_text(value: object) -> object:
    """Dates are written YYYY-MM-DD, nothing else (no timestamps, numbers or other orders)."""
    if value is None or isinstance(value, date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ValueError(f"expected a date as YYYY-MM-DD, got {value!r}")
    return value


def not_after_today(value: date | None) -> date | None:
    """A value is asserted, and a source published, on a date that has come: a later one
    is a typo that would pass for the newest assessment (issue 10)."""
    today = datetime.now(UTC).date()
    if value is not None and value > today:
        raise PydanticCustomError(
            "date_in_future",
            "{date} is after today ({today}, UTC)",
            {"date": value.isoformat(), "today": today.isoformat()},
        )
    return value


T = TypeVar("T")


class Page(AppModel, Generic[T]):
    """One page of a list, with what a client needs to fetch the next."""

    items: list[T] = Field(description="The items on this page, in the documented order.")
    total: int = Field(description="How many items match in all, across every page.", examples=[39])
    limit: int = Field(description="The page size used.", examples=[50])
    offset: int = Field(description="How many matching items precede this page.", examples=[0])
