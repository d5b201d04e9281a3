from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.changes import service
from app.changes.schemas import ChangeFeed, ChangeRead
from app.http.deps import SessionDep
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
