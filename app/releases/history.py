"""Row history by validity ranges: what lets a release freeze a revision without a copy.

Every table a release serves carries `valid_from_revision`, the revision its row's current
content holds from. Triggers in the database (so the API, both seed loaders and any SQL
alike) keep it, in the writing transaction:

- INSERT stamps the row with the revision the transaction will commit as (`stamp`, the
  current revision + 1: every writing transaction bumps it once, at its end);
- UPDATE and DELETE first file the old content in `<table>_history` with its range
  [valid_from_revision, stamp), unless the row was written by this same transaction (that
  content was never visible at any revision), then UPDATE stamps the row.

The table as of revision R is then `live rows with valid_from <= R` plus `history rows with
valid_from <= R < valid_to`: only what changed is ever copied, once per change. Writers
are serialised from their first row on (PostgreSQL: the trigger locks the revision row,
which the writer's bump would lock anyway), so a stamp is always the revision its
transaction commits as.

A migration that adds a column to a versioned table must add it to the history table
and re-create the triggers (`create_triggers`, `drop_triggers`); tests/releases check
that the two tables keep the same columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Column, Enum, Index, Integer, String, Table, UniqueConstraint
from sqlalchemy.engine import Connection

from app.assessments import models as _assessments  # noqa: F401  # the live tables
from app.categories import models as _categories  # noqa: F401
from app.countries import models as _countries  # noqa: F401
from app.db import STAMP_COLUMN, Base
from app.groups import models as _groups  # noqa: F401
from app.sources import models as _sources  # noqa: F401
from app.statements import models as _statements  # noqa: F401

# In dependency order (a release's canonical content hashes them in this order).
VERSIONED_TABLES = (
    "countries",
    "categories",
    "sources",
    "assessments",
    "groups",
    "group_memberships",
    "claims",
    "denials",
)
VALID_TO = "valid_to_revision"


def history_name(table: str) -> str:
    return f"{table}_history"


def _history_table(live: Table) -> Table:
    columns = [
        # Enums as their plain VARCHAR: a history row is evidence, not validated input.
        Column(
            c.name,
            String(c.type.length) if isinstance(c.type, Enum) else c.type,
            nullable=c.nullable,
        )
        for c in live.columns
        if c.name != STAMP_COLUMN
    ]
    name = history_name(live.name)
    return Table(
        name,
        Base.metadata,
        Column("history_id", Integer, primary_key=True),
        *columns,
        Column(STAMP_COLUMN, Integer, nullable=False),
        Column(VALID_TO, Integer, nullable=False),
        *(Index(f"ix_{name}_key{n}", *key) for n, key in enumerate(lookup_keys(live), start=1)),
    )


def lookup_keys(live: Table) -> list[tuple[str, ...]]:
    """What the live table is looked up by (its primary key, indexes and unique
    constraints): its history gets the same indexes, so a frozen read probes both halves
    of the as-of view alike (without them, a release's /stats at 1M assessments scanned
    the history once per lookup)."""
    primary = tuple(c.name for c in live.primary_key.columns)
    others = {tuple(c.name for c in index.columns) for index in live.indexes}
    others |= {
        tuple(c.name for c in constraint.columns)
        for constraint in live.constraints
        if isinstance(constraint, UniqueConstraint)
    }
    return [primary, *sorted(others - {primary})]


HISTORY_TABLES = {name: _history_table(Base.metadata.tables[name]) for name in VERSIONED_TABLES}


def content_columns(table: str) -> list[str]:
    """The columns a history row keeps: every live column but the stamp."""
    return [c.name for c in Base.metadata.tables[table].columns if c.name != STAMP_COLUMN]


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


# SQLite reads the revision in the trigger; writers are serialised by the database lock.
_SQLITE_STAMP = "(COALESCE((SELECT revision FROM dataset_revision WHERE id = 1), 0) + 1)"


def _sqlite_ddl(table: str, columns: Sequence[str], key: str) -> list[str]:
    history = history_name(table)
    old = ", ".join(f'OLD."{c}"' for c in columns)
    archive = (
        f"INSERT INTO {history} ({_quoted(columns)}, {STAMP_COLUMN}, {VALID_TO}) "
        f"VALUES ({old}, OLD.{STAMP_COLUMN}, {_SQLITE_STAMP});"
    )
    stamp = f'UPDATE {table} SET {STAMP_COLUMN} = {_SQLITE_STAMP} WHERE "{key}" = NEW."{key}";'
    # `UPDATE OF` the content columns: the stamping UPDATE itself fires none of them.
    of = f"UPDATE OF {_quoted(columns)}"
    fresh = f"OLD.{STAMP_COLUMN} < {_SQLITE_STAMP}"
    return [
        f"CREATE TRIGGER {table}_stamp_insert AFTER INSERT ON {table} BEGIN {stamp} END",
        f"CREATE TRIGGER {table}_archive_update BEFORE {of} ON {table} WHEN {fresh} "
        f"BEGIN {archive} END",
        f"CREATE TRIGGER {table}_stamp_update AFTER {of} ON {table} BEGIN {stamp} END",
        f"CREATE TRIGGER {table}_archive_delete BEFORE DELETE ON {table} WHEN {fresh} "
        f"BEGIN {archive} END",
    ]


def _postgres_ddl(table: str, columns: Sequence[str]) -> list[str]:
    history = history_name(table)
    old = ", ".join(f'OLD."{c}"' for c in columns)
    # The stamp is looked up once per transaction (cached in a transaction-local setting);
    # the lookup locks the revision row, serialising writers from their first row on.
    return [
        f"""CREATE FUNCTION {table}_versioning() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE stamp integer;
BEGIN
  stamp := NULLIF(current_setting('cp.stamp', true), '')::integer;
  IF stamp IS NULL THEN
    SELECT revision + 1 INTO stamp FROM dataset_revision WHERE id = 1 FOR UPDATE;
    stamp := COALESCE(stamp, 1);
    PERFORM set_config('cp.stamp', stamp::text, true);
  END IF;
  IF TG_OP <> 'INSERT' AND OLD.{STAMP_COLUMN} < stamp THEN
    INSERT INTO {history} ({_quoted(columns)}, {STAMP_COLUMN}, {VALID_TO})
    VALUES ({old}, OLD.{STAMP_COLUMN}, stamp);
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  NEW.{STAMP_COLUMN} := stamp;
  RETURN NEW;
END $$""",
        f"CREATE TRIGGER {table}_versioning BEFORE INSERT OR UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_versioning()",
        # Also under `session_replication_role = replica`, which the bulk loader sets to
        # skip the foreign-key triggers (app.seeding.bulk): history must never be skipped.
        f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_versioning",
    ]


def create_triggers(connection: Connection, table: str, columns: Sequence[str], key: str) -> None:
    """Install the versioning triggers of `table` (content `columns`, primary `key`)."""
    if connection.dialect.name == "postgresql":
        statements = _postgres_ddl(table, columns)
    else:
        statements = _sqlite_ddl(table, columns, key)
    for statement in statements:
        connection.exec_driver_sql(statement)


def drop_triggers(connection: Connection, table: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_versioning ON {table}")
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {table}_versioning()")
        return
    for name in ("stamp_insert", "archive_update", "stamp_update", "archive_delete"):
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_{name}")


def as_of_revision(table: str, revision: int, *, schema: str) -> str:
    """SQL of `table` as it was at `revision` (same columns as the live table)."""
    names = _quoted([*content_columns(table), STAMP_COLUMN])
    return (
        f"SELECT {names} FROM {schema}.{table} WHERE {STAMP_COLUMN} <= {int(revision)} "
        f"UNION ALL SELECT {names} FROM {schema}.{history_name(table)} "
        f"WHERE {STAMP_COLUMN} <= {int(revision)} AND {VALID_TO} > {int(revision)}"
    )
