"""Making and finding releases. No FastAPI here: the CLI and the API share it."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.changes.models import Change
from app.errors import Conflict, InvalidInput, NotFound
from app.releases.frozen import content_digest, frozen_engine
from app.releases.models import Release
from app.releases.schemas import NEW_VERSION_PATTERN
from app.revisions.models import DatasetRevision, bump_revision
from app.settings import Settings

logger = logging.getLogger(__name__)

MAX_CHANGES_LISTED = 1000
# How long `/releases/latest` may be cached: a new release should show within a minute.
LATEST_MAX_AGE = 60


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def check_version(version: str) -> None:
    """A new version: NEW_VERSION_PATTERN (each number at most 9999), so a typo such as
    `20261.1` cannot block every later release."""
    if not re.fullmatch(NEW_VERSION_PATTERN, version):
        raise InvalidInput(
            f"version {version!r} is not a release version: two to four dot-separated "
            "numbers, each at most 9999, without leading zeros, e.g. 2026.1",
            errors=[
                {"loc": ["body", "version"], "msg": "not a release version", "type": "value_error"}
            ],
        )


def latest_release(session: Session) -> Release | None:
    """The newest release not withdrawn: what `latest` names and new versions must beat."""
    query = select(Release).where(Release.withdrawn_at.is_(None))
    return session.scalars(query.order_by(Release.sequence.desc()).limit(1)).first()


def get_release(session: Session, *, version: str) -> Release:
    release = session.get(Release, version)
    if release is None:
        raise NotFound(f"no release {version!r}; GET /releases lists them")
    return release


def list_releases(
    session: Session, *, limit: int | None, offset: int
) -> tuple[Sequence[Release], int]:
    """A page of releases, newest first, and how many there are."""
    total = session.scalar(select(func.count()).select_from(Release)) or 0
    query = select(Release).order_by(Release.sequence.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all(), total


def changes_of(session: Session, release: Release) -> tuple[Sequence[Change], int]:
    """The change-log entries a release adds to the previous one (the first
    MAX_CHANGES_LISTED, oldest first) and how many there are."""
    span = (Change.id > release.changes_after, Change.id <= release.changes_upto)
    total = session.scalar(select(func.count()).select_from(Change).where(*span)) or 0
    rows = session.scalars(
        select(Change).where(*span).order_by(Change.id).limit(MAX_CHANGES_LISTED)
    )
    return rows.all(), total


def lock_revision(session: Session) -> int:
    """Take the dataset's write lock in the caller's transaction; return the revision.

    PostgreSQL: the revision row, FOR UPDATE (every writer's bump locks it too). SQLite:
    a no-op UPDATE, so the transaction begins with the database's write lock (the driver
    issues BEGIN before it) and every read after it sees the last commit.
    """
    if session.get_bind().dialect.name == "postgresql":
        lock = select(DatasetRevision.revision).where(DatasetRevision.id == 1).with_for_update()
        return session.scalar(lock) or 0
    session.execute(
        update(DatasetRevision)
        .where(DatasetRevision.id == 1)
        .values(revision=DatasetRevision.revision)
    )
    return session.scalar(select(DatasetRevision.revision).where(DatasetRevision.id == 1)) or 0


def create_release(
    session: Session, *, settings: Settings, version: str, notes: str | None, actor: str
) -> Release:
    """Freeze the current revision as `version`, in the caller's transaction.

    The dataset's write lock is taken first, then the version is checked: two releases
    made at once are serialised, and the second is checked against the first (checked
    before the lock, a lower version sent with a higher one could both pass). No write is
    half-way while the revision and the change log's end are read; the content is then
    hashed through a frozen engine, so the digest is of exactly what the release will serve.
    """
    check_version(version)
    revision = lock_revision(session)
    if session.get(Release, version) is not None:
        raise Conflict(f"release {version!r} exists; a version is never reused")
    previous = latest_release(session)
    if previous is not None and version_key(version) <= version_key(previous.version):
        raise Conflict(
            f"release {version!r} would not be newer than the latest, {previous.version!r}: "
            "versions only go up"
        )
    changes_upto = session.scalar(select(func.max(Change.id))) or 0
    engine = frozen_engine(settings, revision, batch=True)
    try:
        with engine.connect() as connection:
            sha256, counts = content_digest(connection)
    finally:
        engine.dispose()
    sequence = (session.scalar(select(func.max(Release.sequence))) or 0) + 1
    release = Release(
        version=version,
        sequence=sequence,
        created_at=datetime.now(UTC),
        revision=revision,
        sha256=sha256,
        notes=notes,
        actor=actor,
        counts=counts,
        changes_after=previous.changes_upto if previous is not None else 0,
        changes_upto=changes_upto,
    )
    session.add(release)
    session.flush()
    # The data is unchanged, but what /releases (and the pages citing the latest) answer is
    # not: a new revision drops every cached copy of them.
    bump_revision(session)
    return release


def withdraw_release(session: Session, *, version: str, reason: str, actor: str) -> Release:
    """Mark a mistaken release withdrawn, in the caller's transaction, and log it.

    It stays readable, byte for byte (its data is untouched), and says it is withdrawn;
    it is no longer `latest`, and a lower version may be released after it. Its version
    is never given again.
    """
    lock_revision(session)  # one after the other with release creation
    release = get_release(session, version=version)
    if release.withdrawn_at is not None:
        raise Conflict(f"release {version!r} was withdrawn already, at {release.withdrawn_at}")
    release.withdrawn_at = datetime.now(UTC)
    release.withdrawn_by = actor
    release.withdrawal_reason = reason
    session.flush()
    # What /releases and `latest` answer changes: drop every cached copy.
    bump_revision(session)
    logger.warning("release %s withdrawn by %s: %s", version, actor, reason)
    return release
