from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from app.changes import atom, sentences, service
from app.changes.schemas import ChangeFeed, ChangeRead
from app.countries import service as countries
from app.http.deps import SessionDep
from app.http.links import public_link
from app.problems import Problem
from app.schemas import MAX_ID

router = APIRouter(tags=["changes"])


@router.get("/changes", response_model=ChangeFeed, summary="Read the change log")
def list_changes(
    session: SessionDep,
    since: Annotated[
        int,
        Query(ge=0, le=MAX_ID, description="Return entries with an id above this cursor."),
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many entries.")] = 100,
) -> ChangeFeed:
    """Every change to the data, from the API and the seed loader alike, oldest first.

    A dashboard syncs incrementally by passing the last `next_since` it saw as `since`.
    """
    rows = service.list_changes(session, since=since, limit=limit)
    return ChangeFeed(
        items=[ChangeRead.model_validate(r) for r in rows],
        next_since=rows[-1].id if rows else since,
    )


class AtomXML(Response):
    media_type = atom.ATOM_MEDIA_TYPE


FEED_LIMIT = 100


@router.get(
    "/changes.atom",
    summary="Follow the change log as an Atom feed",
    response_class=AtomXML,
    responses={
        200: {
            "description": "An Atom 1.0 feed (RFC 4287): one entry per change, newest first.",
            "content": {atom.ATOM_MEDIA_TYPE: {"schema": {"type": "string"}}},
        },
        404: {"model": Problem, "description": "Unknown country code."},
    },
)
def get_changes_feed(
    request: Request,
    session: SessionDep,
    country: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Za-z]{2,3}$",
            description="Only this country's changes: its assessments, group memberships "
            "and catalogue entry (ISO 3166-1 alpha-2 or alpha-3, case-insensitive).",
            examples=["RS"],
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="At most this many entries, the newest.")
    ] = FEED_LIMIT,
) -> Response:
    """The change log for feed readers: corrections, new assessments and retractions.

    Each entry's title is a sentence ("Serbia · Lethal aid: yes → no (source …, by key
    alice)"), its author the API key's name (or `seed`), its id a URN stable across hosts
    (`urn:country-positions:change:{id}`), its `alternate` link the changed resource's
    JSON and its `related` link the log entry with its before and after. Conditional GET
    works as on every read: the ETag changes with the data.
    """
    code = None if country is None else countries.get_country(session, code=country).code
    query = {"country": code, "limit": None if limit == FEED_LIMIT else limit}
    params = urlencode({k: v for k, v in query.items() if v is not None})
    names = sentences.load_names(session)
    info = atom.FeedInfo(
        id=atom.FEED_ID if code is None else f"{atom.FEED_ID}:country:{code}",
        title="country-positions: change log"
        + ("" if code is None else f" for {names.country(code)}"),
        self_path="/changes.atom" + (f"?{params}" if params else ""),
    )
    rows = service.latest_changes(session, limit=limit, country_code=code)
    body = atom.render_feed(
        rows, info=info, names=names, link=lambda path: public_link(request, path)
    )
    return AtomXML(body)
