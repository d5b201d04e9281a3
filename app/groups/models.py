"""Groups of countries (alliances, unions) and who belonged to them when."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, RevisionStamped


class Group(RevisionStamped, Base):
    """An organisation countries belong to (the EU, NATO), keyed by a short slug."""

    __tablename__ = "groups"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    source_id: Mapped[str] = mapped_column(String(100), ForeignKey("sources.id"))


class GroupMembership(RevisionStamped, Base):
    """One span of a country's membership of a group: from `joined` (the first day it is a
    member) until `left` (the first day it no longer is; None: still a member)."""

    __tablename__ = "group_memberships"
    __table_args__ = (
        UniqueConstraint("group_key", "country_code", "joined"),
        CheckConstraint('"left" IS NULL OR "left" > joined', name="left_after_joined"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_key: Mapped[str] = mapped_column(String(50), ForeignKey("groups.key"))
    country_code: Mapped[str] = mapped_column(String(2), ForeignKey("countries.code"))
    joined: Mapped[date]
    left: Mapped[date | None]
    source_id: Mapped[str] = mapped_column(String(100), ForeignKey("sources.id"))
    note: Mapped[str | None] = mapped_column(Text)
