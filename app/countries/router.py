from __future__ import annotations

from fastapi import APIRouter

from app.countries import service
from app.countries.schemas import CountryRead
from app.http.deps import CountryCodePath, SessionDep
from app.problems import Problem

router = APIRouter(
    prefix="/countries",
    tags=["countries"],
    responses={404: {"model": Problem, "description": "Unknown country code."}},
)


@router.get("/{code}", response_model=CountryRead, summary="Get a country")
def get_country(code: CountryCodePath, session: SessionDep) -> CountryRead:
    """One country of the catalogue by alpha-2 or alpha-3 code (case-insensitive).

    The response always names the canonical upper-case alpha-2 `code`.
    """
    return CountryRead.model_validate(service.get_country(session, code=code))
