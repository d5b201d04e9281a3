"""What one record of each seed file must look like. The loader validates every row first."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints, field_validator

from app.assessments.schemas import AssessmentCreate
from app.schemas import AppInput, LongText, Name, blank_to_none
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

    _blank = field_validator("reported_via", "note", mode="before")(blank_to_none)
