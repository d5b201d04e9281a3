from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from app.api_keys.security import AdminDep
from app.http.deps import SessionDep
from app.http.links import public_link
from app.http.preconditions import require_if_match, resource_etag
from app.http.strict_json import StrictJSONRoute
from app.problems import Problem
from app.schemas import NO_NUL, SOURCE_ID_PATTERN
from app.sources import service
from app.sources.models import Source
from app.sources.schemas import SourceCreate, SourceRead, SourceUpdate

router = APIRouter(prefix="/sources", tags=["sources"], route_class=StrictJSONRoute)

SourceIdPath = Annotated[
    str,
    Path(
        pattern=SOURCE_ID_PATTERN,
        max_length=100,
        description="Source slug.",
        examples=["us-europe-response-chart-2023"],
    ),
]


@router.get("", response_model=list[SourceRead], summary="List sources")
def list_sources(session: SessionDep) -> list[SourceRead]:
    """Every source that asserts or relays a value, ordered by id, with its verification
    status. Retracted sources are listed too, flagged by a non-null `retracted_at`."""
    return [SourceRead.model_validate(s) for s in service.list_sources(session)]


@router.get(
    "/{source_id}",
    response_model=SourceRead,
    summary="Get a source",
    responses={404: {"model": Problem, "description": "Unknown source id."}},
)
def get_source(source_id: SourceIdPath, session: SessionDep, response: Response) -> SourceRead:
    """One source: what it is, where it came from, how far it is verified, and which
    governments it covered, as far as known. A retracted source still answers, with
    `retracted_at` set.

    The `ETag` header is what `PATCH` and `DELETE` need in `If-Match`.
    """
    return _with_etag(response, service.get_source(session, source_id=source_id))


def _with_etag(response: Response, source: Source) -> SourceRead:
    response.headers["ETag"] = resource_etag("source", source.id, source.version)
    return SourceRead.model_validate(source)


@router.post(
    "",
    response_model=SourceRead,
    status_code=201,
    summary="Record a new source",
    responses={
        401: {"model": Problem, "description": "No valid API key."},
        403: {"model": Problem, "description": "The key lacks the admin scope."},
        409: {"model": Problem, "description": "A source with this id exists."},
        413: {"model": Problem, "description": "Body too large."},
    },
)
def create_source(
    data: SourceCreate, session: SessionDep, key: AdminDep, request: Request, response: Response
) -> SourceRead:
    """Record a source (needs an `admin` key). The change is logged under the key's name."""
    source = service.create_source(session, data=data, actor=key.name)
    response.headers["Location"] = public_link(request, f"/sources/{source.id}")
    return _with_etag(response, source)


@router.patch(
    "/{source_id}",
    response_model=SourceRead,
    summary="Change a source",
    responses={
        401: {"model": Problem, "description": "No valid API key."},
        403: {"model": Problem, "description": "The key lacks the admin scope."},
        404: {"model": Problem, "description": "Unknown source id."},
        409: {"model": Problem, "description": "The source is retracted."},
        412: {"model": Problem, "description": "`If-Match` is stale."},
        413: {"model": Problem, "description": "Body too large."},
        428: {"model": Problem, "description": "`If-Match` is missing."},
    },
)
def update_source(
    source_id: SourceIdPath,
    patch: SourceUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    key: AdminDep,
) -> SourceRead:
    """Change fields of a source (merge-patch; needs an `admin` key and `If-Match`).

    A retracted source cannot be changed (409). Its `verification_status` is also shown
    next to its id in every position that cites it.
    """
    source = service.get_source(session, source_id=source_id)
    require_if_match(request, resource_etag("source", source.id, source.version))
    source = service.update_source(session, source=source, patch=patch, actor=key.name)
    return _with_etag(response, source)


@router.delete(
    "/{source_id}",
    status_code=204,
    summary="Retract a source",
    responses={
        401: {"model": Problem, "description": "No valid API key."},
        403: {"model": Problem, "description": "The key lacks the admin scope."},
        404: {"model": Problem, "description": "Unknown source id."},
        409: {"model": Problem, "description": "The source is already retracted."},
        412: {"model": Problem, "description": "`If-Match` is stale."},
        428: {"model": Problem, "description": "`If-Match` is missing."},
    },
)
def retract_source(
    source_id: SourceIdPath,
    request: Request,
    session: SessionDep,
    key: AdminDep,
    note: Annotated[
        str | None,
        Query(min_length=1, max_length=4000, pattern=NO_NUL, description="Why it is retracted."),
    ] = None,
) -> Response:
    """Retract a source (needs an `admin` key and `If-Match`): every assessment citing it
    as `source` leaves every position, statistic and filter at once. Nothing is deleted:
    the source (with `retracted_at`), its assessments (flagged by `source_retracted_at`)
    and their history stay readable, and the retraction is in `GET /changes`. Retracting
    it again is a 409; new assessments citing it are refused (422).
    """
    source = service.get_source(session, source_id=source_id)
    require_if_match(request, resource_etag("source", source.id, source.version))
    service.retract_source(session, source=source, note=note, actor=key.name)
    return Response(status_code=204)
