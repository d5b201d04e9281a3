"""Groups of countries (EU, NATO): read-only, loaded from the seed files."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BeforeValidator

from app.countries.models import Country
from app.groups import service
from app.groups.models import Group, GroupMembership
from app.groups.schemas import (
    GROUP_KEY_MAX,
    GroupList,
    GroupRead,
    GroupSummary,
    MembershipRead,
)
from app.http.deps import SessionDep
from app.problems import Problem
from app.schemas import SOURCE_ID_PATTERN, iso_date_text

router = APIRouter(prefix="/groups", tags=["groups"])

GroupKeyPath = Annotated[
    str,
    Path(
        pattern=SOURCE_ID_PATTERN,
        max_length=GROUP_KEY_MAX,
        description="Group key (see `GET /groups`).",
        examples=["nato"],
    ),
]
MembershipDateQuery = Annotated[
    date | None,
    BeforeValidator(iso_date_text),
    Query(
        description="Membership on this date (YYYY-MM-DD); omit for today (UTC).",
        examples=["2023-03-02"],
    ),
]


def _membership(membership: GroupMembership, country: Country) -> MembershipRead:
    return MembershipRead(
        country_code=membership.country_code,
        country_name=country.name,
        joined=membership.joined,
        left=membership.left,
        source_id=membership.source_id,
        note=membership.note,
    )


def _summary(group: Group, on: date, members: int) -> dict[str, object]:
    return {
        "key": group.key,
        "name": group.name,
        "description": group.description,
        "source_id": group.source_id,
        "as_of": on,
        "member_count": members,
    }


@router.get("", response_model=GroupList, summary="List groups")
def list_groups(session: SessionDep, as_of: MembershipDateQuery = None) -> GroupList:
    """Every group of countries (EU, NATO, ...), ordered by key, with how many catalogue
    countries are members on `as_of` (today, UTC, if omitted).

    A country is a member on a date when `joined` <= date < `left`: `left` is the first day
    outside. Groups come from the seed files only (`seeds/groups.yaml`,
    `seeds/group_memberships.csv`); there is no write API for them.
    """
    on = service.membership_date(as_of)
    counts: dict[str, int] = {}
    for membership, _country in service.list_memberships(session):
        if service.in_effect(membership.joined, membership.left, on):
            counts[membership.group_key] = counts.get(membership.group_key, 0) + 1
    return GroupList(
        as_of=on,
        items=[
            GroupSummary.model_validate(_summary(g, on, counts.get(g.key, 0)))
            for g in service.list_groups(session)
        ],
    )


@router.get(
    "/{key}",
    response_model=GroupRead,
    summary="Get a group and its members",
    responses={404: {"model": Problem, "description": "Unknown group key."}},
)
def get_group(
    key: GroupKeyPath, session: SessionDep, as_of: MembershipDateQuery = None
) -> GroupRead:
    """A group, its members on `as_of` (today, UTC, if omitted) and every recorded span,
    each with its `joined` and `left` dates and the source that records it.

    `left` is exclusive: on the day a country leaves it is no longer a member (the United
    Kingdom, which left the EU on 2020-01-31, is a member as of 2020-01-30, not as of
    2020-01-31).
    """
    group = service.get_group(session, key=key)
    on = service.membership_date(as_of)
    spans = [_membership(m, c) for m, c in service.list_memberships(session, group_key=key)]
    members = sorted(
        (s for s in spans if service.in_effect(s.joined, s.left, on)),
        key=lambda s: (s.country_name, s.country_code),
    )
    return GroupRead.model_validate(
        {**_summary(group, on, len(members)), "members": members, "memberships": spans}
    )
