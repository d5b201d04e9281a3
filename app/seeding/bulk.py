"""The bulk path for large assessment files: streamed, set-based, still all-or-nothing.

Rows are validated one at a time with the same row model and reference checks as the
regular loader and the API, and written to a temporary staging table inside the load's
transaction; duplicates are found there with one GROUP BY. Only if nothing is wrong is the
staging table merged into `assessments` with a handful of INSERT ... SELECT and
UPDATE ... FROM statements, and each created or updated assessment logged in `changes`.
Memory stays flat: neither the file nor its rows are ever held whole.

On PostgreSQL, the four foreign-key triggers fired per row are over half the cost of the
INSERT into `assessments` (2.9 s of it for 200,000 rows, 1.3 s without them, measured).
Where the role may set `session_replication_role` (a superuser, or a role granted
`SET ON PARAMETER session_replication_role`, PostgreSQL 15+), the merge runs with them off
for its own statements; in their place the referenced rows are locked FOR KEY SHARE, as the
triggers would lock them, and every staged reference is checked by one set-based query, as
`ALTER TABLE ... ADD FOREIGN KEY` would check it but without that statement's exclusive lock,
so readers are never blocked. Any other role gets the triggers, and the same result.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from app.assessments.models import Assessment
from app.categories.models import Category
from app.changes.models import Change
from app.changes.service import SEED_ACTOR
from app.countries.models import Country
from app.db import STAMP_COLUMN
from app.revisions.models import bump_revision
from app.seeding.kinds import CATALOGUE, STREAMED
from app.seeding.loader import SeedReport, apply_catalogue, refresh_planner_statistics
from app.seeding.reading import (
    Collector,
    SeedSet,
    SeedValidationError,
    assessment_reference_problems,
    csv_records,
    read_seeds,
)
from app.seeding.rows import AssessmentSeedRow
from app.sources.models import Source
from app.vocabulary import ChangeAction

BATCH = 5_000
MAX_ERRORS = 1_000

_staging_metadata = MetaData()
staging = Table(
    "seed_assessments",
    _staging_metadata,
    Column("line", Integer, nullable=False),
    Column("country_code", String(2), nullable=False),
    Column("category_key", String(32), nullable=False),
    Column("source_id", String(100), nullable=False),
    Column("reported_via_id", String(100)),
    Column("relayed_through", JSON(none_as_null=True)),
    Column("as_of", Date, nullable=False),
    Column("value", String(32), nullable=False),
    Column("evidence", Text, nullable=False),
    Column("evidence_language", String(2)),
    Column("note", Text),
    prefixes=["TEMPORARY"],
)
_KEY = ("country_code", "category_key", "source_id", "as_of")
_VALUES = ("value", "reported_via_id", "relayed_through", "evidence", "evidence_language", "note")
_assessments: Table = Assessment.__table__  # type: ignore[assignment]  # a Table at runtime
_changes: Table = Change.__table__  # type: ignore[assignment]  # a Table at runtime
_REFERENCES: tuple[tuple[str, ColumnElement[Any]], ...] = (
    ("country_code", Country.__table__.c.code),
    ("category_key", Category.__table__.c.key),
    ("source_id", Source.__table__.c.id),
    ("reported_via_id", Source.__table__.c.id),
)


def _staged_rows(folder: Path, seeds: SeedSet, errors: Collector) -> Iterator[dict[str, Any]]:
    """The streamed kind's rows, validated as app.seeding.reading validates them; its
    duplicates are found once staged (`_index_staging`)."""
    path = folder / STREAMED.file
    label = str(path)
    if not path.is_file():
        errors.add(label, None, None, "file is missing")
        return
    assert STREAMED.columns is not None  # a CSV: streamed one record at a time
    with path.open(encoding="utf-8-sig", newline="") as stream:
        for line, data in csv_records(
            stream, label, STREAMED.columns, set(STREAMED.required), errors
        ):
            if len(errors.errors) >= MAX_ERRORS:
                errors.add(label, line, None, f"stopped after {MAX_ERRORS} errors")
                return
            if any("\x00" in value for value in data.values()):
                errors.add(label, line, None, "contains a NUL byte")
                continue
            row = errors.validate(AssessmentSeedRow, data, label, line)
            if row is None:
                continue
            problems = assessment_reference_problems(row, seeds)
            for field, message in problems:
                errors.add(label, line, field, message)
            if problems:
                continue
            yield {
                "line": line,
                "country_code": row.country,
                "category_key": row.category.value,
                "source_id": row.source,
                "reported_via_id": row.reported_via,
                "relayed_through": row.relayed_through or None,
                "as_of": row.as_of,
                "value": row.value.value,
                "evidence": row.evidence,
                "evidence_language": row.evidence_language,
                "note": row.note,
            }


def _stage(session: Session, folder: Path, seeds: SeedSet, errors: Collector) -> None:
    connection = session.connection()
    connection.execute(text("DROP TABLE IF EXISTS seed_assessments"))
    staging.create(connection)
    rows = _staged_rows(folder, seeds, errors)
    if connection.dialect.name == "postgresql":
        # COPY streams rows to the server far faster than batched INSERTs.
        names = ", ".join(column.name for column in staging.columns)
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY seed_assessments ({names}) FROM STDIN") as copy:
            for row in rows:
                if not errors.errors:  # keep validating to report every error, stop writing
                    copy.write_row(tuple(_copy_text(value) for value in row.values()))
    else:
        batch: list[dict[str, Any]] = []
        for row in rows:
            if errors.errors:
                continue  # keep validating to report every error, but stop writing
            batch.append(row)
            if len(batch) >= BATCH:
                connection.execute(staging.insert(), batch)
                batch.clear()
        if batch and not errors.errors:
            connection.execute(staging.insert(), batch)


def _copy_text(value: Any) -> Any:
    """COPY takes a JSON column's value as its text."""
    return json.dumps(value) if isinstance(value, list) else value


def _comparable(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """PostgreSQL's `json` has no equality: JSON columns are compared as their text."""
    return cast(column, Text) if isinstance(column.type, JSON) else column


def _index_staging(session: Session, label: str, errors: Collector) -> None:
    """Index the staged keys for the merge. Building the index UNIQUE proves in passing that
    no row repeats another; only when it cannot be built are the duplicates searched for,
    to name each one."""
    columns = "seed_assessments (country_code, category_key, source_id, as_of)"
    try:
        with session.begin_nested():
            session.execute(text(f"CREATE UNIQUE INDEX ix_seed_assessments_key ON {columns}"))
        return
    except IntegrityError:
        pass
    session.execute(text(f"CREATE INDEX ix_seed_assessments_key ON {columns}"))
    _duplicates(session, label, errors)


def _duplicates(session: Session, label: str, errors: Collector) -> None:
    key = [staging.c[name] for name in _KEY]
    first = func.min(staging.c.line).label("first")
    groups = select(*key, first).group_by(*key).having(func.count() > 1).subquery()
    rows = session.execute(
        select(staging.c.line, groups.c.first)
        .join(groups, and_(*(staging.c[name] == groups.c[name] for name in _KEY)))
        .where(staging.c.line != groups.c.first)
        .order_by(staging.c.line)
        .limit(MAX_ERRORS)
    )
    for line, first_line in rows:
        errors.add(
            label,
            line,
            None,
            f"duplicate row: same country, category, source and as_of as line {first_line}",
        )


def _json(session: Session, pairs: dict[str, ColumnElement[Any]]) -> ColumnElement[Any]:
    arguments: list[Any] = []
    postgres = session.get_bind().dialect.name == "postgresql"
    for name, value in pairs.items():
        # SQLite stores JSON as text: json() nests it rather than quoting it as a string.
        nested = value if postgres or not isinstance(value.type, JSON) else func.json(value)
        arguments += [literal(name), nested]
    if postgres:
        return func.json_build_object(*arguments)
    return func.json_object(*arguments)


def _snapshot(session: Session, columns: Mapping[str, ColumnElement[Any]]) -> ColumnElement[Any]:
    """What app.changes.service.snapshot() records for an assessment, built in SQL."""
    # As app.changes.service.snapshot: the revision stamp is the database's bookkeeping.
    kept = [c for c in _assessments.columns if c.key != STAMP_COLUMN]
    return _json(session, {c.key: columns[c.key] for c in kept})


def _may_skip_row_triggers(session: Session) -> bool:
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return False
    if (connection.dialect.server_version_info or (0,)) < (15,):
        return bool(session.scalar(text("SELECT current_setting('is_superuser') = 'on'")))
    return bool(
        session.scalar(
            text(
                "SELECT current_setting('is_superuser') = 'on' "
                "OR has_parameter_privilege('session_replication_role', 'SET')"
            )
        )
    )


def _check_references(session: Session, label: str) -> None:
    """What the foreign keys of `assessments` would check, for every staged row at once."""
    for kind in CATALOGUE:
        columns = list(kind.model.__table__.primary_key)
        session.execute(select(*columns).with_for_update(read=True, key_share=True)).all()
    # NOT IN over a primary key (never NULL) is a hashed lookup; a NULL reported_via passes.
    dangling = or_(*(staging.c[name].not_in(select(target)) for name, target in _REFERENCES))
    lines = session.scalars(
        select(staging.c.line).where(dangling).order_by(staging.c.line).limit(MAX_ERRORS)
    ).all()
    if lines:
        errors = Collector()
        for line in lines:
            errors.add(
                label,
                line,
                None,
                "refers to a country, category or source that is not in the database",
            )
        raise SeedValidationError(errors.errors)


@contextmanager
def _row_triggers_off(session: Session, enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    session.execute(text("SET LOCAL session_replication_role = replica"))
    yield
    session.execute(text("SET LOCAL session_replication_role = origin"))


def _merge(session: Session, report: SeedReport, label: str) -> None:
    a, s = _assessments, staging
    on_key = and_(*(a.c[name] == s.c[name] for name in _KEY))
    differs = or_(
        *(_comparable(a.c[name]).is_distinct_from(_comparable(s.c[name])) for name in _VALUES)
    )
    one = literal(1)
    total, existing, to_update = session.execute(
        select(
            func.count(),
            func.count(a.c.id),
            func.coalesce(func.sum(case((and_(a.c.id.is_not(None), differs), one), else_=0)), 0),
        ).select_from(s.outerjoin(a, on_key))
    ).one()
    counts = report.counts["assessments"]
    counts.created = total - existing
    counts.updated = int(to_update)
    counts.unchanged = existing - counts.updated
    now = datetime.now(UTC)

    def log(
        action: ChangeAction,
        before: ColumnElement[Any] | None,
        after: ColumnElement[Any],
        ident: ColumnElement[Any],
        source: Any,
        where: ColumnElement[bool] | None = None,
    ) -> None:
        columns = [
            Change.at,
            Change.actor,
            Change.action,
            Change.entity,
            Change.entity_id,
            Change.before,
            Change.after,
        ]
        query = select(
            literal(now, Change.at.type),
            literal(SEED_ACTOR),
            literal(action.value),
            literal("assessment"),
            cast(ident, String),
            before if before is not None else literal(None, Change.before.type),
            after,
        ).select_from(source)
        if where is not None:
            query = query.where(where)
        session.execute(_changes.insert().from_select(columns, query))

    fast = bool(counts.created or counts.updated) and _may_skip_row_triggers(session)
    if fast:
        _check_references(session, label)
    if counts.updated:
        merged: dict[str, ColumnElement[Any]] = {c.key: c for c in a.columns}
        merged |= {name: s.c[name] for name in _VALUES}
        merged["version"] = a.c.version + 1
        log(
            ChangeAction.update,
            _snapshot(session, {c.key: c for c in a.columns}),
            _snapshot(session, merged),
            a.c.id,
            s.join(a, on_key),
            differs,
        )
        with _row_triggers_off(session, fast):
            session.execute(
                update(a)
                .where(on_key, differs)
                .values({name: s.c[name] for name in _VALUES} | {"version": a.c.version + 1})
            )
    if counts.created:
        names = [*_KEY, *_VALUES]
        insert = a.insert().from_select(
            names,
            select(*(s.c[name] for name in names)).where(~select(a.c.id).where(on_key).exists()),
        )
        if session.get_bind().dialect.name == "postgresql":
            # One statement logs exactly the rows it inserted, whatever else commits meanwhile.
            inserted = insert.returning(*a.c).cte("inserted")
            with _row_triggers_off(session, fast):
                log(
                    ChangeAction.create,
                    None,
                    _snapshot(session, {c.key: inserted.c[c.key] for c in a.columns}),
                    inserted.c.id,
                    inserted,
                )
            return
        # SQLite has one writer at a time, held by this transaction since its first write:
        # every id past the boundary is one of ours.
        boundary = session.scalar(select(func.coalesce(func.max(a.c.id), 0)))
        session.execute(insert)
        log(
            ChangeAction.create,
            None,
            _snapshot(session, {c.key: c for c in a.columns}),
            a.c.id,
            a,
            a.c.id > boundary,
        )


def load_seeds_bulk(
    factory: sessionmaker[Session], folder: Path, *, dry_run: bool = False
) -> SeedReport:
    """The regular loader's contract (validate all, then one transaction, counts, change
    log, revision) for assessment files too large to hold in memory."""
    seeds = read_seeds(folder, assessments=False)
    errors = Collector()
    label = str(folder / STREAMED.file)
    with factory() as session, session.begin():
        _stage(session, folder, seeds, errors)
        if not errors.errors:
            _index_staging(session, label, errors)
        if errors.errors:
            session.rollback()
            raise SeedValidationError(sorted(errors.errors, key=lambda e: e.line or 0))
        report = SeedReport()
        apply_catalogue(session, seeds, report)
        session.flush()
        _merge(session, report, label)
        session.execute(text("DROP TABLE seed_assessments"))
        if report.changed:
            report.revision = bump_revision(session)
            if not dry_run:
                refresh_planner_statistics(session)
        if dry_run:
            report.dry_run = True
            report.revision = None
            session.rollback()
    return report
