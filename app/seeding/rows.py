"""What one record of each seed file must look like. The loader validates every row first."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import StringConstraints, field_validator

from app.assessments.schemas import AssessmentCreate
from app.groups.schemas import GroupKey
from app.schemas import (
    AppInput,
    CountryCode,
    LongText,
    Name,
    SourceId,
    blank_to_none,
    iso_date_text,
    not_after_today,
    space_separated,
)
from app.sources.schemas import OPTIONAL_FIELDS, SourceCreate
from app.vocabulary import CategoryKey


class CountrySeedRow(AppInput):
    """A row of countries.csv: an ISO code whose names come from pycountry, or a
    user-assigned code (like XK, Kosovo) that must name itself."""

    code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    name: Name | None = None
    alpha3: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    numeric: Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")] | None = None

    _blank = field_validator("name", "alpha3", "numeric", mode="before")(blank_to_none)


class CategorySeedRow(AppInput):
    """A record of categories.yaml; the record order is the category order."""

    key: CategoryKey
    label: Name
    definition: LongText


class SourceSeedRow(SourceCreate):
    """A record of sources.yaml: validated exactly as `POST /sources` validates a body,
    once an empty value (how a file says "none") is read as null."""

    _blank = field_validator(*OPTIONAL_FIELDS, mode="before")(blank_to_none)


class AssessmentSeedRow(AssessmentCreate):
    """A row of assessments.csv: validated exactly as `POST /assessments` validates a body,
    once an empty cell (how CSV says "none") is read as null."""

    _blank = field_validator(
        "reported_via", "relayed_through", "evidence_language", "note", mode="before"
    )(blank_to_none)
    _hops = field_validator("relayed_through", mode="before")(space_separated)


class GroupSeedRow(AppInput):
    """A record of groups.yaml: an organisation countries belong to, and what lists them."""

    key: GroupKey
    name: Name
    description: LongText | None = None
    source: SourceId

    _blank = field_validator("description", mode="before")(blank_to_none)


class GroupMembershipSeedRow(AppInput):
    """A row of group_memberships.csv: one span of a country's membership of a group.

    `joined` is the first day of membership, `left` the first day outside (exclusive;
    empty: still a member). Neither may be after today, so membership "as of today" only
    changes when the data does (and caches keyed on the dataset revision stay true).
    `left` after `joined`, and spans that overlap, are checked by the kind's resolver
    (app.seeding.kinds), which sees the whole file.
    """

    group: GroupKey
    country_code: CountryCode
    joined: date
    left: date | None = None
    source_id: SourceId
    note: LongText | None = None

    # "before" validators run last-declared first: blanks become None, then dates are read.
    _dates = field_validator("joined", "left", mode="before")(iso_date_text)
    _blank = field_validator("left", "note", mode="before")(blank_to_none)
    _past = field_validator("joined", "left")(not_after_today)
