"""The dataset revision: one counter every data change bumps, so caches and ETags can key on it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Integer, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import Base, UTCDateTime

REVISION_CHANNEL = "cp_revision"
# Where bump_revision leaves the new revision for the after-commit hook (app.main).
PENDING_REVISION = "cp.pending_revision"


class DatasetRevision(Base):
    """A single row (id = 1) holding the current revision of the whole dataset."""

    __tablename__ = "dataset_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


def current_revision(session: Session) -> int:
    value = session.scalar(select(DatasetRevision.revision).where(DatasetRevision.id == 1))
    return value or 0


def bump_revision(session: Session) -> int:
    """Increment the revision inside the caller's transaction and return the new value.

    On PostgreSQL the bump also notifies every listening instance, on commit (NOTIFY is
    transactional), so their caches drop what the change made stale.
    """
    now = datetime.now(UTC)
    revision = session.execute(
        update(DatasetRevision)
        .where(DatasetRevision.id == 1)
        .values(revision=DatasetRevision.revision + 1, changed_at=now)
        .returning(DatasetRevision.revision)
    ).scalar_one_or_none()
    if revision is None:
        revision = 1
        session.add(DatasetRevision(id=1, revision=revision, changed_at=now))
        session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(REVISION_CHANNEL, str(revision))))
    session.info[PENDING_REVISION] = revision
    return revision
