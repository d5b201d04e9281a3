"""Groups and their memberships. Membership on a date D: joined <= D and (left is null or
D < left), so `left` is exclusive: the first day outside."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.countries.models import Country
from app.errors import NotFound
from app.groups.models import Group, GroupMembership


def membership_date(as_of: date | None) -> date:
    """The day membership is read on: `as_of`, or today (UTC)."""
    return as_of if as_of is not None else datetime.now(UTC).date()


def in_effect(joined: date, left: date | None, on: date) -> bool:
    return joined <= on and (left is None or on < left)


def list_groups(session: Session) -> Sequence[Group]:
    return session.scalars(select(Group).order_by(Group.key)).all()


def get_group(session: Session, *, key: str) -> Group:
    group = session.get(Group, key)
    if group is None:
        raise NotFound(f"No group {key!r} (see GET /groups).")
    return group


def list_memberships(
    session: Session, *, group_key: str | None = None
) -> Sequence[tuple[GroupMembership, Country]]:
    """Membership spans with their countries, by group, then `joined`, then country name."""
    query = select(GroupMembership, Country).join(
        Country, Country.code == GroupMembership.country_code
    )
    if group_key is not None:
        query = query.where(GroupMembership.group_key == group_key)
    query = query.order_by(GroupMembership.group_key, GroupMembership.joined, Country.name)
    return [(m, c) for m, c in session.execute(query)]


def members_on(spans: Iterable[tuple[str, date, date | None]], on: date) -> frozenset[str]:
    """The country codes of the (code, joined, left) spans in effect on `on`."""
    return frozenset(code for code, joined, left in spans if in_effect(joined, left, on))


def member_codes(session: Session, *, key: str, on: date) -> frozenset[str]:
    """Codes of the group's members on `on`; NotFound for an unknown group."""
    get_group(session, key=key)
    rows = session.execute(
        select(GroupMembership.country_code, GroupMembership.joined, GroupMembership.left).where(
            GroupMembership.group_key == key
        )
    )
    return members_on(((code, joined, left) for code, joined, left in rows), on)
