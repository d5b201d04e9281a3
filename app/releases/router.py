"""Releases: list, make, find; the frozen reads under them are app.releases.dispatch's."""

from __future__ import annotations

import pathlib
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Request, Response
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app import __version__
from app.api_keys.security import AdminDep
from app.errors import NotFound
from app.http.deps import SessionDep, without_deadlines
from app.http.links import public_link
from app.http.pagination import PaginationDep, page_headers
from app.http.strict_json import StrictJSONRoute
from app.problems import Problem
from app.releases import package, service
from app.releases.citation import citation
from app.releases.dispatch import immutable, release_etag
from app.releases.models import Release
from app.releases.schemas import (
    VERSION_PATTERN,
    Citation,
    ReleaseChange,
    ReleaseChanges,
    ReleaseCreate,
    ReleaseLinks,
    ReleasePage,
    ReleaseRead,
    ReleaseWithdraw,
    ReleaseWithdrawal,
)
from app.releases.store import PackageStore, member_chunks, package_info, read_member

router = APIRouter(prefix="/releases", tags=["releases"], route_class=StrictJSONRoute)

VersionPath = Annotated[
    str,
    Path(
        pattern=VERSION_PATTERN,
        max_length=20,
        description="A release version.",
        examples=["2026.1"],
    ),
]


def _release_etag(release: Release) -> str:
    """A release's data never changes: its description's and package's tag follows its
    version, its hash, whether it was withdrawn (the one change it may see) and the code
    version (which may add columns or files to the same data's package)."""
    withdrawn = "-withdrawn" if release.withdrawn_at is not None else ""
    return f'"release-{release.version}-{release.sha256[:16]}-{__version__}{withdrawn}"'


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
        withdrawn=None
        if release.withdrawn_at is None
        else ReleaseWithdrawal(at=release.withdrawn_at, reason=release.withdrawal_reason or ""),
        citation=Citation(**citation(package_info(release, request.app.state.settings), base)),
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
    data: ReleaseCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    key: AdminDep,
    background: BackgroundTasks,
) -> ReleaseRead:
    """Freeze the current dataset revision as an immutable release (needs an `admin`
    key): from then on `/releases/{version}/...` answers every read as it is now, byte for
    byte, whatever is written later. `country-positions release create` does the same.

    Making a release reads the whole dataset once (to hash it): at a million assessments
    that takes seconds, so this one operation is exempt from `CP_REQUEST_DEADLINE` and
    `CP_DB_DEADLINE` once the admin key is checked (writes wait for it meanwhile). Its data
    package is then built in the background (see `GET /releases/{version}/data.zip`)."""
    without_deadlines(request)
    release = service.create_release(
        session,
        settings=request.app.state.settings,
        version=data.version,
        notes=data.notes,
        actor=key.name,
    )
    response.headers["Location"] = public_link(request, f"/releases/{release.version}")
    response.headers["ETag"] = _release_etag(release)
    store: PackageStore = request.app.state.release_packages
    background.add_task(store.ensure, release)
    return release_read(request, session, release)


@router.post(
    "/{version}/withdrawal",
    response_model=ReleaseRead,
    summary="Withdraw a mistaken release",
    responses={
        401: {"model": Problem, "description": "No valid API key."},
        403: {"model": Problem, "description": "The key lacks the admin scope."},
        404: {"model": Problem, "description": "No such release."},
        409: {"model": Problem, "description": "The release was withdrawn already."},
        413: {"model": Problem, "description": "Body too large."},
    },
)
def withdraw_release(
    version: VersionPath,
    data: ReleaseWithdraw,
    request: Request,
    response: Response,
    session: SessionDep,
    key: AdminDep,
) -> ReleaseRead:
    """Mark a release made by mistake (a typo in its version, the wrong data) as withdrawn
    (needs an `admin` key; logged, with who and why). It stays readable, byte for byte, and
    says `withdrawn`; it is no longer `latest`, and a lower version may be released after
    it. Its version is never given again. Withdraw before anyone cites it.
    `country-positions release withdraw` does the same."""
    release = service.withdraw_release(session, version=version, reason=data.reason, actor=key.name)
    response.headers["ETag"] = _release_etag(release)
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
    minute); cite the version it names, not this URL. Below it, `/releases/latest/<read>`
    redirects to the same read of the newest release."""
    release = service.latest_release(session)
    if release is None:
        raise NotFound("no release yet; an admin makes one with POST /releases")
    return RedirectResponse(
        public_link(request, f"/releases/{release.version}"),
        status_code=307,
        headers={"Cache-Control": f"public, max-age={service.LATEST_MAX_AGE}"},
    )


@router.get(
    "/{version}",
    response_model=ReleaseRead,
    summary="Get a release",
    responses={404: {"model": Problem, "description": "No such release."}},
)
def get_release(
    version: VersionPath, request: Request, response: Response, session: SessionDep
) -> ReleaseRead:
    """A release: what it froze (revision, hash, counts), what changed since the previous
    one, how to cite it, and where its data is."""
    release = service.get_release(session, version=version)
    response.headers["ETag"] = _release_etag(release)
    return release_read(request, session, release)


async def _stored(request: Request, version: str) -> tuple[Release, pathlib.Path]:
    """The release and its stored package (built once: app.releases.store)."""
    release: Release | None = await request.app.state.frozen_releases.find(version)
    if release is None:
        raise NotFound(f"no release {version!r}; GET /releases lists them")
    store: PackageStore = request.app.state.release_packages
    return release, await store.stored(release)


def _immutable(request: Request, release: Release) -> dict[str, str]:
    etag = release_etag(release, request.scope, request.headers.get("accept", ""))
    return {"ETag": etag, "Cache-Control": immutable(request.app.state.settings)}


@router.get(
    "/{version}/datapackage.json",
    summary="Get a release's data package",
    response_class=Response,
    responses={
        200: {
            "description": "A Frictionless Data Package (v2) descriptor.",
            "content": {
                "application/json": {"schema": {"type": "object", "additionalProperties": True}}
            },
        },
        404: {"model": Problem, "description": "No such release."},
        503: {
            "model": Problem,
            "description": "The package is being built (once per release; then it is "
            "served as stored), or the database is unreachable: retry after `Retry-After` s.",
        },
    },
)
async def get_release_datapackage(version: VersionPath, request: Request) -> Response:
    """The release as a Frictionless Data Package (v2): five CSV resources (`data/*.csv`,
    beside this URL) with their Table Schemas (types, enums, primary and foreign keys),
    the licence, the sources, the version and its hash. `frictionless validate` reads it."""
    release, stored = await _stored(request, version)
    body = await run_in_threadpool(read_member, stored, package.DESCRIPTOR)
    return Response(body, media_type="application/json", headers=_immutable(request, release))


@router.get(
    "/{version}/data/{resource}",
    summary="Get one CSV of a release's data package",
    response_class=Response,
    responses={
        200: {
            "description": "The CSV (RFC 4180, UTF-8, header row).",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        404: {"model": Problem, "description": "No such release or resource."},
        503: {
            "model": Problem,
            "description": "The package is being built (once per release; then it is "
            "served as stored), or the database is unreachable: retry after `Retry-After` s.",
        },
    },
)
async def get_release_resource(
    version: VersionPath,
    resource: Annotated[
        str,
        Path(
            pattern=r"^[a-z]+\.csv$",
            max_length=40,
            description="`countries.csv`, `categories.csv`, `sources.csv`, `assessments.csv` "
            "or `positions.csv`.",
            examples=["positions.csv"],
        ),
    ],
    request: Request,
) -> Response:
    """One CSV resource of the release's data package, as `datapackage.json` describes it."""
    path = f"data/{resource}"
    if path not in package.PATHS:
        raise NotFound(f"no resource {resource!r}; the package has {', '.join(package.PATHS)}")
    release, stored = await _stored(request, version)
    chunks = member_chunks(stored, path)
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={
            **_immutable(request, release),
            "Content-Disposition": f'attachment; filename="{resource}"',
        },
    )


@router.get(
    "/{version}/data.zip",
    summary="Get a release's data package, zipped",
    response_class=Response,
    responses={
        200: {
            "description": "`datapackage.json` and `data/*.csv`.",
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        },
        404: {"model": Problem, "description": "No such release."},
        503: {
            "model": Problem,
            "description": "The package is being built (once per release; then it is "
            "served as stored), or the database is unreachable: retry after `Retry-After` s.",
        },
    },
)
async def get_release_zip(version: VersionPath, request: Request) -> Response:
    """The data package and its CSVs in one zip, the same bytes on every download. It is
    built once per release (when the release is made, or by the first request for it)
    and then served as stored; while it is being built, a 503 says so, with
    `Retry-After`."""
    release, stored = await _stored(request, version)
    return FileResponse(
        stored,
        media_type="application/zip",
        headers={
            **_immutable(request, release),
            "Content-Disposition": f'attachment; filename="country-positions-{version}.zip"',
        },
    )
