"""Single-assessment routes: read one with its ETag, write (with a key), and its history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from app.api_keys.security import WriterDep
from app.assessments import curation
from app.assessments.models import Assessment
from app.assessments.schemas import AssessmentCreate, AssessmentRead, AssessmentUpdate
from app.changes import service as changes_service
from app.changes.schemas import ChangeRead
from app.http.deps import SessionDep
from app.http.links import public_link
from app.http.preconditions import require_if_match, resource_etag
from app.http.strict_json import StrictJSONRoute
from app.problems import Problem
from app.schemas import MAX_ID, NO_NUL

router = APIRouter(prefix="/assessments", tags=["assessments"], route_class=StrictJSONRoute)

AssessmentIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="Assessment id.", examples=[2])]


def _problems(*statuses: int) -> dict[int | str, Any]:
    # No 403: both key scopes (write and admin) may write assessments.
    descriptions = {
        401: "No valid API key.",
        404: "Unknown assessment id.",
        409: "Conflicts with a stored assessment (duplicate or retracted).",
        412: "`If-Match` is stale.",
        413: "Body too large.",
        428: "`If-Match` is missing.",
    }
    return {s: {"model": Problem, "description": descriptions[s]} for s in statuses}


def _etag(assessment: Assessment) -> str:
    return resource_etag("assessment", assessment.id, assessment.version)


def _read(response: Response, assessment: Assessment) -> AssessmentRead:
    response.headers["ETag"] = _etag(assessment)
    return AssessmentRead.model_validate(assessment)


@router.post(
    "",
    response_model=AssessmentRead,
    status_code=201,
    summary="Record an assessment",
    responses=_problems(401, 409, 413),
)
def create_assessment(
    data: AssessmentCreate,
    session: SessionDep,
    key: WriterDep,
    request: Request,
    response: Response,
) -> AssessmentRead:
    """Record what a source says of a country in a category (needs a `write` key).

    Validated exactly as the seed loader validates a row: the country, the source and
    `reported_via` must exist, and (country, category, source, as_of) must be new (409).
    A retracted source cannot be cited (422). Positions reflect it at once.
    """
    assessment = curation.create_assessment(session, data=data, actor=key.name)
    response.headers["Location"] = public_link(request, f"/assessments/{assessment.id}")
    return _read(response, assessment)


@router.get(
    "/{assessment_id}",
    response_model=AssessmentRead,
    summary="Get an assessment",
    responses=_problems(404),
)
def get_assessment(
    assessment_id: AssessmentIdPath, session: SessionDep, response: Response
) -> AssessmentRead:
    """One assessment, retracted or not. Its `ETag` is what `PATCH` and `DELETE` need."""
    return _read(response, curation.get_assessment(session, assessment_id=assessment_id))


@router.patch(
    "/{assessment_id}",
    response_model=AssessmentRead,
    summary="Change an assessment",
    responses=_problems(401, 404, 409, 412, 413, 428),
)
def update_assessment(
    assessment_id: AssessmentIdPath,
    patch: AssessmentUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    key: WriterDep,
) -> AssessmentRead:
    """Change value, evidence, note, `reported_via` or `as_of` (needs `If-Match`).

    Country, category and source identify the assessment: record a new one to change them.
    """
    assessment = curation.get_assessment(session, assessment_id=assessment_id)
    require_if_match(request, _etag(assessment))
    assessment = curation.update_assessment(
        session, assessment=assessment, patch=patch, actor=key.name
    )
    return _read(response, assessment)


@router.delete(
    "/{assessment_id}",
    status_code=204,
    summary="Retract an assessment",
    responses=_problems(401, 404, 409, 412, 428),
)
def retract_assessment(
    assessment_id: AssessmentIdPath,
    request: Request,
    session: SessionDep,
    key: WriterDep,
    note: Annotated[
        str | None,
        Query(min_length=1, max_length=4000, pattern=NO_NUL, description="Why it is retracted."),
    ] = None,
) -> Response:
    """Retract an assessment (needs `If-Match`): it leaves every position but stays,
    with its history, readable at `GET /assessments/{id}`."""
    assessment = curation.get_assessment(session, assessment_id=assessment_id)
    require_if_match(request, _etag(assessment))
    curation.retract_assessment(session, assessment=assessment, note=note, actor=key.name)
    return Response(status_code=204)


@router.get(
    "/{assessment_id}/history",
    response_model=list[ChangeRead],
    summary="Get an assessment's history",
    responses=_problems(404),
)
def get_assessment_history(
    assessment_id: AssessmentIdPath, session: SessionDep
) -> list[ChangeRead]:
    """Every change-log entry for this assessment, oldest first."""
    curation.get_assessment(session, assessment_id=assessment_id)
    rows = changes_service.entity_history(
        session, entity=curation.ENTITY, entity_id=str(assessment_id)
    )
    return [ChangeRead.model_validate(r) for r in rows]
