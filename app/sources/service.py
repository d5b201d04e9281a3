from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.changes.service import snapshot
from app.countries.models import Country
from app.errors import Conflict, InvalidInput, NotFound
from app.sources.models import Source
from app.sources.schemas import SourceCreate, SourceFields, SourceUpdate
from app.sources.validation import coverage_problems, relay_problems
from app.vocabulary import ChangeAction
from app.writes import apply_update, log_write, validate_merged


def list_sources(session: Session) -> Sequence[Source]:
    return session.scalars(select(Source).order_by(Source.id)).all()


def get_source(session: Session, *, source_id: str) -> Source:
    source = session.get(Source, source_id)
    if source is None:
        raise NotFound(f"No source with id {source_id!r}.")
    return source


def _taken(source_id: str) -> Conflict:
    return Conflict(f"A source with id {source_id!r} already exists.")


def _relays_of(session: Session, source_id: str) -> list[str] | None:
    source = session.get(Source, source_id)
    return None if source is None else list(source.relays or ())


def _check_references(session: Session, source_id: str, data: SourceFields) -> None:
    """The seed loader's checks of `coverage.known` (against the catalogue) and of `relays`
    (every hop exists; no chain loops back)."""
    problems = coverage_problems(
        data, country_exists=lambda code: session.get(Country, code) is not None
    )
    problems += relay_problems(
        source_id, data.relays, relays_of=lambda hop: _relays_of(session, hop)
    )
    if problems:
        issues = [{"loc": ["body", f], "msg": m, "type": "reference"} for f, m in problems]
        raise InvalidInput("; ".join(f"body.{f}: {m}" for f, m in problems), errors=issues)


def create_source(session: Session, *, data: SourceCreate, actor: str) -> Source:
    if session.get(Source, data.id) is not None:
        raise _taken(data.id)
    _check_references(session, data.id, data)
    source = Source(**data.model_dump())
    session.add(source)
    try:
        log_write(
            session,
            actor=actor,
            action=ChangeAction.create,
            entity="source",
            entity_id=source.id,
            before=None,
            obj=source,
        )
    except IntegrityError as exc:
        # A concurrent create of the same id committed after our check: answer as the check.
        raise _taken(data.id) from exc
    return source


def update_source(session: Session, *, source: Source, patch: SourceUpdate, actor: str) -> Source:
    """Apply a merge-patch; the merged source is validated exactly like a new one."""
    if source.retracted_at is not None:
        raise Conflict(f"Source {source.id!r} is retracted; record a new source instead.")
    current = {name: getattr(source, name) for name in SourceFields.model_fields}
    validated = validate_merged(SourceFields, current, patch)
    _check_references(session, source.id, validated)
    apply_update(
        session,
        obj=source,
        values=validated.model_dump(),
        actor=actor,
        entity="source",
        entity_id=source.id,
    )
    return source


def retract_source(session: Session, *, source: Source, note: str | None, actor: str) -> Source:
    """Take every assessment of the source out of every position; the source, its
    assessments and their history stay readable. Retracting twice is a Conflict."""
    if source.retracted_at is not None:
        raise Conflict(f"Source {source.id!r} is already retracted.")
    before = snapshot(source)
    source.retracted_at = datetime.now(UTC)
    source.retraction_note = note
    log_write(
        session,
        actor=actor,
        action=ChangeAction.retract,
        entity="source",
        entity_id=source.id,
        before=before,
        obj=source,
    )
    return source
