"""Claims and denials as lists of their own: a relay's provenance, a country's record.
Read-only: both are loaded from the seed files."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.countries import service as countries_service
from app.http.deps import SessionDep
from app.problems import Problem
from app.schemas import SOURCE_ID_PATTERN
from app.sources import service as sources_service
from app.statements import service
from app.statements.schemas import ClaimRead, DenialRead
from app.vocabulary import CategoryKey, ClaimKind, ClaimRank

router = APIRouter(tags=["statements"])

CountryQuery = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Za-z]{2,3}$",
        description="Keep those naming this country (alpha-2 or alpha-3, any case).",
        examples=["GR"],
    ),
]
SourceQuery = Annotated[
    str | None,
    Query(
        pattern=SOURCE_ID_PATTERN,
        max_length=100,
        description="Keep those made by this relay, or about this source (the chart).",
        examples=["inosmi-ten-states-losing-will-2023"],
    ),
]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "Unknown country or source."}
}


@router.get("/claims", response_model=list[ClaimRead], summary="List claims", responses=NOT_FOUND)
def list_claims(
    session: SessionDep,
    country: CountryQuery = None,
    source: SourceQuery = None,
    kind: Annotated[ClaimKind | None, Query(description="Keep claims of this kind.")] = None,
    rank: Annotated[ClaimRank | None, Query(description="Keep claims of this rank.")] = None,
) -> list[ClaimRead]:
    """What relays say the chart holds, oldest first: `lumped` claims naming countries with
    no column (never a value), and `cell` claims repeating one category's value
    (corroborations, or misreports ranked `deprecated` with the reason). None of them counts
    toward a position or makes one disputed. `source` gives a relay's provenance: every
    claim it makes."""
    code = None
    if country is not None:
        code = countries_service.get_country(session, code=country).code
    if source is not None:
        sources_service.get_source(session, source_id=source)
    claims = service.list_claims(session, country=code, source_id=source)
    return [
        ClaimRead.model_validate(c)
        for c in claims
        if (kind is None or c.kind is kind) and (rank is None or c.rank is rank)
    ]


@router.get(
    "/denials", response_model=list[DenialRead], summary="List denials", responses=NOT_FOUND
)
def list_denials(
    session: SessionDep,
    country: CountryQuery = None,
    category: Annotated[
        CategoryKey | None, Query(description="Keep denials of this category's value.")
    ] = None,
) -> list[DenialRead]:
    """Dated statements that contradict a value (by the assessed government or a third
    party), oldest first. Each stands beside the value it contradicts, which stays as the
    source assessed it; a denial is not `disputed` (two assessments disagreeing)."""
    code = None
    if country is not None:
        code = countries_service.get_country(session, code=country).code
    return [
        DenialRead.model_validate(d)
        for d in service.list_denials(session, country=code, category=category)
    ]
