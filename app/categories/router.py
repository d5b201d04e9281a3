from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from app.categories import service
from app.categories.schemas import CategoryRead
from app.http.deps import SessionDep
from app.problems import Problem

router = APIRouter(prefix="/categories", tags=["categories"])


@router.get("", response_model=list[CategoryRead], summary="List the four categories")
def list_categories(session: SessionDep) -> list[CategoryRead]:
    """The four assistance categories the chart is reported to assess, in our fixed order
    (training, lethal_aid, future_capability, future_will)."""
    return [CategoryRead.model_validate(c) for c in service.list_categories(session)]


@router.get(
    "/{key}",
    response_model=CategoryRead,
    summary="Get a category",
    responses={404: {"model": Problem, "description": "Unknown category key."}},
)
def get_category(
    key: Annotated[
        str,
        Path(max_length=64, description="Category key.", examples=["lethal_aid"]),
    ],
    session: SessionDep,
) -> CategoryRead:
    """One category by its stable key, with its label and definition."""
    return CategoryRead.model_validate(service.get_category(session, key=key))
