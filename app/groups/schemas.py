"""What the group routes return. Groups are seed-only: there are no write schemas."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, StringConstraints

from app.schemas import SOURCE_ID_PATTERN, AppModel

GROUP_KEY_MAX = 50
GroupKey = Annotated[str, StringConstraints(pattern=SOURCE_ID_PATTERN, max_length=GROUP_KEY_MAX)]


class MembershipRead(AppModel):
    """One span of a country's membership of a group."""

    country_code: str = Field(description="The member's ISO 3166-1 alpha-2 code.", examples=["FI"])
    country_name: str = Field(description="The member's common name.", examples=["Finland"])
    joined: date = Field(description="First day of membership.", examples=["2023-04-04"])
    left: date | None = Field(
        description="First day no longer a member (exclusive); null while a member.",
        examples=[None],
    )
    source_id: str = Field(
        description="The source recording this membership (see `GET /sources/{id}`).",
        examples=["nato-member-countries"],
    )
    note: str | None = Field(description="What the dates stand for, where it needs saying.")


class GroupSummary(AppModel):
    """A group of countries, and how many of the catalogue's countries belong to it."""

    key: str = Field(description="Stable slug, the value of `group=` filters.", examples=["nato"])
    name: str = Field(description="Name of the organisation.", examples=["NATO"])
    description: str | None = Field(description="What membership means here.")
    source_id: str = Field(description="The source listing its members.")
    as_of: date = Field(description="The date membership is counted on (UTC).")
    member_count: int = Field(
        description="Catalogue countries that are members on `as_of`.", examples=[30]
    )


class GroupList(AppModel):
    """Every group, ordered by key."""

    as_of: date = Field(description="The date member counts are taken on (UTC).")
    items: list[GroupSummary] = Field(description="The groups.")


class GroupRead(GroupSummary):
    """A group with its members on `as_of`, and every membership span it has recorded."""

    members: list[MembershipRead] = Field(
        description="The spans in effect on `as_of`, ordered by country name."
    )
    memberships: list[MembershipRead] = Field(
        description="Every recorded span, current or past, ordered by `joined`, then name."
    )
