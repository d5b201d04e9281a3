"""A release: one dataset revision, frozen under a version, for citation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class Release(Base):
    """Never deleted, and its data never changes: a version, once given, names the same
    bytes forever (a withdrawal only marks it, app.releases.service.withdraw_release)."""

    __tablename__ = "releases"

    version: Mapped[str] = mapped_column(String(20), primary_key=True)
    # The order releases were made in (`latest` is the highest), unique.
    sequence: Mapped[int] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revision: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    counts: Mapped[dict[str, int]] = mapped_column(JSON)
    # The change log entries this release adds to the previous one: ids in (after, upto].
    changes_after: Mapped[int] = mapped_column(Integer)
    changes_upto: Mapped[int] = mapped_column(Integer)
    # A mistaken release, withdrawn by an admin: still readable, never `latest`, and no
    # longer blocking a lower version. The only change a release ever sees.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[str | None] = mapped_column(String(100))
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
