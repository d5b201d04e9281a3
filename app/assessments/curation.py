"""Writes to assessments: create, change, retract. Each is logged and bumps the revision."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine, Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.assessments.models import Assessment
from app.assessments.schemas import AssessmentCreate, AssessmentUpdate
from app.assessments.validation import reference_problems
from app.changes.service import snapshot
from app.countries.models import Country
from app.errors import Conflict, InvalidInput, NotFound
from app.sources.models import Source
from app.vocabulary import ChangeAction
from app.writes import apply_update, log_write, validate_merged

ENTITY = "assessment"


def get_assessment(session: Session, *, assessment_id: int) -> Assessment:
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        raise NotFound(f"No assessment with id {assessment_id}.")
    return assessment


def _relays_of(session: Session, source_id: str) -> list[str] | None:
    source = session.get(Source, source_id)
    return None if source is None else list(source.relays or ())


def _check(session: Session, data: AssessmentCreate, *, exclude_id: int | None = None) -> None:
    """The same reference checks as the seed loader, then that no cited source is
    retracted, then uniqueness of the natural key."""
    problems = reference_problems(
        data,
        country_exists=lambda code: session.get(Country, code) is not None,
        relays_of=lambda source_id: _relays_of(session, source_id),
    )
    cited = [("source", data.source), ("reported_via", data.reported_via)]
    cited += [("relayed_through", hop) for hop in data.relayed_through or ()]
    for field, ref in cited:
        source = session.get(Source, ref) if ref is not None else None
        if source is not None and source.retracted_at is not None:
            problems.append((field, f"source {ref!r} is retracted"))
    if problems:
        issues = [{"loc": ["body", f], "msg": m, "type": "reference"} for f, m in problems]
        raise InvalidInput("; ".join(f"body.{f}: {m}" for f, m in problems), errors=issues)
    duplicate = session.scalar(_natural_key_query(data))
    if duplicate is not None and duplicate != exclude_id:
        raise _duplicate(data, duplicate)


def _natural_key_query(data: AssessmentCreate) -> Select[int]:
    return select(Assessment.id).where(
        Assessment.country_code == data.country,
        Assessment.category_key == data.category,
        Assessment.source_id == data.source,
        Assessment.as_of == data.as_of,
    )


def _duplicate(data: AssessmentCreate, existing_id: int) -> Conflict:
    return Conflict(
        f"Assessment {existing_id} already records {data.source!r} on {data.country} "
        f"{data.category.value} as of {data.as_of.isoformat()}; change that one instead.",
        existing_id=existing_id,
    )


@contextmanager
def _naming_a_racing_duplicate(
    session: Session, data: AssessmentCreate, *, exclude_id: int | None = None
) -> Iterator[None]:
    """If a concurrent writer stored the same natural key after `_check`, the unique index
    refuses our flush: answer as `_check` would, naming its row. Our transaction is failed
    by then (PostgreSQL), so the row is looked up on a connection of its own; the winner
    has committed, since the unique index waits for it."""
    try:
        yield
    except IntegrityError:
        bind = session.get_bind()
        engine = bind if isinstance(bind, Engine) else bind.engine
        with engine.connect() as connection:
            existing = connection.scalar(_natural_key_query(data))
        if existing is None or existing == exclude_id:
            raise
        raise _duplicate(data, existing) from None


def _as_create(assessment: Assessment) -> dict[str, object]:
    return {
        "country": assessment.country_code,
        "category": assessment.category_key,
        "value": assessment.value,
        "source": assessment.source_id,
        "reported_via": assessment.reported_via_id,
        "relayed_through": assessment.relayed_through,
        "as_of": assessment.as_of.isoformat(),
        "evidence": assessment.evidence,
        "evidence_language": assessment.evidence_language,
        "note": assessment.note,
    }


def assessment_columns(data: AssessmentCreate) -> dict[str, object]:
    return {
        "country_code": data.country,
        "category_key": data.category,
        "source_id": data.source,
        "as_of": data.as_of,
        "value": data.value,
        "reported_via_id": data.reported_via,
        # An empty chain is stored as none: the digest of a release skips a null.
        "relayed_through": data.relayed_through or None,
        "evidence": data.evidence,
        "evidence_language": data.evidence_language,
        "note": data.note,
    }


def create_assessment(session: Session, *, data: AssessmentCreate, actor: str) -> Assessment:
    _check(session, data)
    assessment = Assessment(**assessment_columns(data))
    session.add(assessment)
    with _naming_a_racing_duplicate(session, data):
        session.flush()
    log_write(
        session,
        actor=actor,
        action=ChangeAction.create,
        entity=ENTITY,
        entity_id=str(assessment.id),
        before=None,
        obj=assessment,
    )
    return assessment


def update_assessment(
    session: Session, *, assessment: Assessment, patch: AssessmentUpdate, actor: str
) -> Assessment:
    """Apply a merge-patch; the result is validated exactly like a new assessment."""
    if assessment.retracted_at is not None:
        raise Conflict(f"Assessment {assessment.id} is retracted; record a new one instead.")
    validated = validate_merged(AssessmentCreate, _as_create(assessment), patch)
    _check(session, validated, exclude_id=assessment.id)
    with _naming_a_racing_duplicate(session, validated, exclude_id=assessment.id):
        apply_update(
            session,
            obj=assessment,
            values=assessment_columns(validated),
            actor=actor,
            entity=ENTITY,
            entity_id=str(assessment.id),
        )
    return assessment


def retract_assessment(
    session: Session, *, assessment: Assessment, note: str | None, actor: str
) -> Assessment:
    """Take an assessment out of every position; the row and its history stay."""
    if assessment.retracted_at is not None:
        raise Conflict(f"Assessment {assessment.id} is already retracted.")
    before = snapshot(assessment)
    assessment.retracted_at = datetime.now(UTC)
    assessment.retraction_note = note
    log_write(
        session,
        actor=actor,
        action=ChangeAction.retract,
        entity=ENTITY,
        entity_id=str(assessment.id),
        before=before,
        obj=assessment,
    )
    return assessment
