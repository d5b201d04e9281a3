"""What every write shares: validate a merged patch, log the change, bump the revision."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from app.changes.service import record_change, snapshot
from app.errors import InvalidInput, summarise, validation_issues
from app.revisions.models import bump_revision
from app.vocabulary import ChangeAction

Model = TypeVar("Model", bound=BaseModel)


def validate_merged(model: type[Model], current: dict[str, Any], patch: BaseModel) -> Model:
    """Apply a merge-patch to current values and validate the result as a whole."""
    merged = {**current, **patch.model_dump(exclude_unset=True)}
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        issues = validation_issues(exc.errors(), prefix=("body",))
        raise InvalidInput(summarise(issues), errors=issues) from exc


def log_write(
    session: Session,
    *,
    actor: str,
    action: ChangeAction,
    entity: str,
    entity_id: str,
    before: dict[str, Any] | None,
    obj: object,
) -> None:
    """Flush, record the change log entry, and bump the dataset revision: one transaction."""
    session.flush()
    record_change(
        session,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before,
        after=snapshot(obj),
    )
    bump_revision(session)


def apply_update(
    session: Session,
    *,
    obj: object,
    values: dict[str, Any],
    actor: str,
    entity: str,
    entity_id: str,
) -> None:
    """Set the values that differ; if any did, log the update and bump the revision."""
    changed = {name: value for name, value in values.items() if getattr(obj, name) != value}
    if not changed:
        return
    before = snapshot(obj)
    for name, value in changed.items():
        setattr(obj, name, value)
    log_write(
        session,
        actor=actor,
        action=ChangeAction.update,
        entity=entity,
        entity_id=entity_id,
        before=before,
        obj=obj,
    )
