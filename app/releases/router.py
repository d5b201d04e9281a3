"""Releases: list, make, find; the frozen reads under them are app.releases.dispatch's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from app.api_keys.security import AdminDep
from app.errors import NotFound
from app.http.deps import SessionDep
from app.http.links import public_link
from app.http.pagination import PaginationDep, page_headers
from app.http.strict_json import StrictJSONRoute
from app.problems import Problem
from app.releases import service
from app.releases.citation import cite
from app.releases.models import Release
from app.releases.schemas import (
    Citation,
    ReleaseChange,
    ReleaseChanges,
    ReleaseCreate,
    ReleaseLinks,
    ReleasePage,
    ReleaseRead,
)

router = APIRouter(prefix="/releases", tags=["releases"], route_class=StrictJSONRoute)

# How long `latest` may be cached: a new release should show within a minute.
LATEST_MAX_AGE = 60

VersionPath = Annotated[
    str,
    Path(
        pattern=service.VERSION_PATTERN,
        max_length=20,
        description="A release version.",
        examples=["2026.1"],
    ),
]


def release_read(request: Request, session: Session, release: Release) -> ReleaseRead:
    base = public_link(request, f"/releases/{release.version}")
    changes, total = service.changes_of(session, release)
    return ReleaseRead(
        version=release.version,
        created_at=release.created_at,
        revision=release.revision,
        sha256=release.sha256,
        notes=release.notes,
        counts=release.counts,
        changes=ReleaseChanges(
            total=total,
            items=[ReleaseChange.model_validate(c) for c in changes],
            since=release.changes_after,
        ),
        citation=Citation(**cite(release, base)),
        links=ReleaseLinks(
            self=base,
            data=base,
            datapackage=f"{base}/datapackage.json",
            data_zip=f"{base}/data.zip",
        ),
    )


@router.get("", response_model=ReleasePage, summary="List releases")
def list_releases(
    request: Request, response: Response, session: SessionDep, page: PaginationDep
) -> ReleasePage:
    """Every release, newest first: the versions you can cite and read frozen."""
    limit = page.limit_for(export=False)
    rows, total = service.list_releases(session, limit=limit, offset=page.offset)
    response.headers.update(page_headers(request, total=total, limit=limit, offset=page.offset))
    return ReleasePage(
        items=[release_read(request, session, r) for r in rows],
        total=total,
        limit=limit or 0,
        offset=page.offset,
    )


@router.post(
    "",
    response_model=ReleaseRead,
    status_code=201,
    summary="Make a release",
    responses={
        401: {"model": Problem, "description": "No valid API key."},
        403: {"model": Problem, "description": "The key lacks the admin scope."},
        409: {"model": Problem, "description": "The version exists or is not the highest."},
        413: {"model": Problem, "description": "Body too large."},
    },
)
def create_release(
    data: ReleaseCreate, request: Request, response: Response, session: SessionDep, key: AdminDep
) -> ReleaseRead:
    """Freeze the current dataset revision as an immutable release (needs an `admin`
    key): from then on `/releases/{version}/...` answers every read as it is now, byte for
    byte, whatever is written later. `country-positions release create` does the same."""
    release = service.create_release(
        session,
        settings=request.app.state.settings,
        version=data.version,
        notes=data.notes,
        actor=key.name,
    )
    response.headers["Location"] = public_link(request, f"/releases/{release.version}")
    return release_read(request, session, release)


@router.get(
    "/latest",
    status_code=307,
    response_class=RedirectResponse,
    summary="Go to the latest release",
    responses={
        307: {"description": "To `/releases/{version}` of the newest release."},
        404: {"model": Problem, "description": "No release yet."},
    },
)
def get_latest_release(request: Request, session: SessionDep) -> RedirectResponse:
    """A redirect to the newest release, cached briefly (a new one shows within a
    minute); cite the version it names, not this URL."""
    release = service.latest_release(session)
    if release is None:
        raise NotFound("no release yet; an admin makes one with POST /releases")
    return RedirectResponse(
        public_link(request, f"/releases/{release.version}"),
        status_code=307,
        headers={"Cache-Control": f"public, max-age={LATEST_MAX_AGE}"},
    )


@router.get(
    "/{version}",
    response_model=ReleaseRead,
    summary="Get a release",
    responses={404: {"model": Problem, "description": "No such release."}},
)
def get_release(version: VersionPath, request: Request, session: SessionDep) -> ReleaseRead:
    """A release: what it froze (revision, hash, counts), what changed since the previous
    one, how to cite it, and where its data is."""
    return release_read(request, session, service.get_release(session, version=version))
