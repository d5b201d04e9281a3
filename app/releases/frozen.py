"""A dataset revision as the application reads it: connections whose tables are frozen.

Each connection of a frozen engine gets TEMP views named like the versioned tables (and
`dataset_revision`), showing them as of one revision (app.releases.history). Unqualified
names resolve to temporary objects first on both SQLite and PostgreSQL, so every query of
the application, unchanged, reads the release; nothing is copied, and the views are gone
with the connection. The views are read-only: a write through such an engine fails.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Engine, event, select
from sqlalchemy.engine import Connection

from app.db import Base, make_engine
from app.releases.history import VERSIONED_TABLES, as_of_revision, content_columns
from app.settings import Settings


def _create_views(dbapi_connection: Any, revision: int, *, postgres: bool) -> None:
    cursor = dbapi_connection.cursor()
    try:
        if postgres:
            cursor.execute("SELECT current_schema()")
            schema = '"{}"'.format(cursor.fetchone()[0].replace('"', '""'))
        else:
            schema = "main"
        for table in VERSIONED_TABLES:
            view = as_of_revision(table, revision, schema=schema)
            cursor.execute(f"CREATE TEMP VIEW {table} AS {view}")
        cursor.execute(
            f"CREATE TEMP VIEW dataset_revision AS SELECT id, {int(revision)} AS revision, "
            f"changed_at FROM {schema}.dataset_revision"
        )
    finally:
        cursor.close()
    # The pool's reset (a rollback) must not take the views away.
    dbapi_connection.commit()


def frozen_engine(settings: Settings, revision: int, *, batch: bool = False) -> Engine:
    """An engine on `settings.database_url` whose connections read `revision`."""
    engine = make_engine(settings, batch=batch, small_pool=True)
    postgres = engine.dialect.name == "postgresql"

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        _create_views(dbapi_connection, revision, postgres=postgres)

    event.listen(engine, "connect", on_connect)
    return engine


def _canonical(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


# Tables added after the first release format: hashed (and counted) only when they hold
# rows, for the same reason as LATER_COLUMNS.
LATER_TABLES = frozenset({"claims", "denials"})
# Columns added after the first release format: hashed only when set, as one trailing
# {name: value} object, so a release made before they existed recomputes to its hash.
LATER_COLUMNS = {
    "sources": ("published_on_qualifier", "language", "relays"),
    "assessments": ("relayed_through", "evidence_language"),
}


def _rows(connection: Connection, table: str) -> Iterator[list[Any]]:
    """A frozen table's rows, columns in order, by primary key, as canonical JSON values
    (later columns, when set, as one trailing object: see LATER_COLUMNS)."""
    live = Base.metadata.tables[table]
    later = LATER_COLUMNS.get(table, ())
    names = [name for name in content_columns(table) if name not in later]
    query = select(*(live.c[name] for name in (*names, *later))).order_by(*live.primary_key.columns)
    result = connection.execution_options(stream_results=True, yield_per=5000).execute(query)
    for row in result:
        values = [_canonical(v) for v in row]
        base, extra = values[: len(names)], values[len(names) :]
        added = {name: value for name, value in zip(later, extra, strict=True) if value is not None}
        yield [*base, added] if added else base


def content_digest(connection: Connection) -> tuple[str, dict[str, int]]:
    """(SHA-256 of the canonical content, rows per table) of what `connection` reads.

    Canonical content: per versioned table in VERSIONED_TABLES order, a line with its name,
    then one JSON array per row (columns in table order, rows by primary key, dates in ISO
    8601, JSON keys sorted; LATER_COLUMNS as a trailing object, only when set; a table of
    LATER_TABLES only when it has rows).
    """
    digest = hashlib.sha256()
    counts: dict[str, int] = {}
    for table in VERSIONED_TABLES:
        name = json.dumps(table).encode() + b"\n"
        later = table in LATER_TABLES
        if not later:
            digest.update(name)
        count = 0
        for row in _rows(connection, table):
            if later and not count:
                digest.update(name)
            digest.update(
                json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
                + b"\n"
            )
            count += 1
        if count or not later:
            counts[table] = count
    return digest.hexdigest(), counts
