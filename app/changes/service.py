from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import inspect, or_, select
from sqlalchemy.orm import Session

from app.changes.models import Change
from app.db import STAMP_COLUMN
from app.vocabulary import ChangeAction

SEED_ACTOR = "seed"


def snapshot(obj: object) -> dict[str, Any]:
    """The column values of an ORM object as JSON-ready data (dates as ISO text)."""
    values: dict[str, Any] = {}
    for attr in inspect(obj).mapper.column_attrs:
        if attr.key == STAMP_COLUMN:  # bookkeeping of the database's, not the entity's
            continue
        value = getattr(obj, attr.key)
        if isinstance(value, Enum):
            value = value.value
        elif isinstance(value, datetime | date):
            value = value.isoformat()
        values[attr.key] = value
    return values


def record_change(
    session: Session,
    *,
    actor: str,
    action: ChangeAction,
    entity: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> Change:
    """Append one entry to the change log, in the caller's transaction."""
    change = Change(
        at=datetime.now(UTC),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before,
        after=after,
    )
    session.add(change)
    return change


def list_changes(session: Session, *, since: int, limit: int) -> Sequence[Change]:
    """Entries after the cursor `since` (an entry id), oldest first."""
    query = select(Change).where(Change.id > since).order_by(Change.id).limit(limit)
    return session.scalars(query).all()


# Entities whose snapshots name a country in `country_code`.
COUNTRY_SCOPED = ("assessment", "group_membership", "denial")
# Entities whose snapshots name countries in a `countries` list.
COUNTRIES_SCOPED = ("claim",)


def latest_changes(
    session: Session, *, limit: int, country_code: str | None = None
) -> Sequence[Change]:
    """The newest entries, newest first; with `country_code` (alpha-2), only those about
    that country: its own entry, and assessments, memberships, denials and claims naming
    it before or after."""
    query = select(Change).order_by(Change.id.desc()).limit(limit)
    if country_code is None:
        return session.scalars(query).all()
    names_it = or_(
        Change.after["country_code"].as_string() == country_code,
        Change.before["country_code"].as_string() == country_code,
    )
    query = query.where(
        or_(
            (Change.entity == "country") & (Change.entity_id == country_code),
            Change.entity.in_(COUNTRY_SCOPED) & names_it,
        )
    )
    # A claim names a list of countries; claims are few, so they are matched here.
    claims = select(Change).where(Change.entity.in_(COUNTRIES_SCOPED))
    naming = [
        change
        for change in session.scalars(claims.order_by(Change.id.desc()))
        if any(
            country_code in ((snapshot or {}).get("countries") or ())
            for snapshot in (change.after, change.before)
        )
    ]
    merged = sorted([*session.scalars(query), *naming], key=lambda c: c.id, reverse=True)
    return merged[:limit]


def entity_history(session: Session, *, entity: str, entity_id: str) -> Sequence[Change]:
    query = (
        select(Change)
        .where(Change.entity == entity, Change.entity_id == entity_id)
        .order_by(Change.id)
    )
    return session.scalars(query).all()
