"""Declarative base, engine construction and the per-request session."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Integer, MetaData, TypeDecorator, create_engine, event
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import URL, Dialect, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

from app.db_deadline import guard_engine
from app.settings import Settings

# Stable constraint names: Alembic batch mode on SQLite needs them, and reviewers read them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# The revision from which a row's current content holds (app.releases.history).
STAMP_COLUMN = "valid_from_revision"


class RevisionStamped:
    """A table a release can freeze: database triggers stamp every written row with the
    revision its transaction commits as, and file the content it replaces (or deletes) in
    `<table>_history` with its validity range (app.releases.history). Never read or set by
    the application, hence deferred."""

    valid_from_revision: Mapped[int] = mapped_column(Integer, server_default="0", deferred=True)


MODEL_MODULES = (
    "app.countries.models",
    "app.categories.models",
    "app.sources.models",
    "app.assessments.models",
    "app.groups.models",
    "app.statements.models",
    "app.api_keys.models",
    "app.changes.models",
    "app.revisions.models",
    "app.releases.models",
    "app.releases.history",
)


def import_models() -> None:
    """Import every models module so ``Base.metadata`` knows every table (Alembic needs it)."""
    for module in MODEL_MODULES:
        importlib.import_module(module)


# libpq: probe an idle connection after 10 s, every 2 s, drop it after 3 unanswered probes;
# drop a connection whose sent bytes stay unacknowledged for 10 s. They end waits on a dead
# network; a silent peer that still acknowledges is cut by app.db_deadline's watchdog.
TCP_KEEPALIVES: dict[str, int] = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}


def make_engine(settings: Settings, *, batch: bool = False, small_pool: bool = False) -> Engine:
    """An engine for `settings.database_url`.

    `batch=True` is for the seed loader and migrations: one long statement (a COPY of a
    million rows, an index build) is their normal work, so the API's statement_timeout and
    client-side deadline (`CP_DB_DEADLINE`, app.db_deadline), which guard request latency,
    do not apply to them, and PostgreSQL's JIT stays on.
    """
    url: URL = make_url(settings.database_url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": settings.db_connect_timeout}
    else:
        kwargs["pool_timeout"] = settings.db_connect_timeout
        kwargs["connect_args"] = {
            "connect_timeout": max(1, int(settings.db_connect_timeout)),
            **TCP_KEEPALIVES,
        }
        if not batch:
            # JIT compilation pays off for long analytic queries, never for these: a plan
            # costed high on poor estimates once spent 140 ms compiling a 1 ms query.
            kwargs["connect_args"]["options"] = (
                f"-c statement_timeout={settings.db_statement_timeout_ms} -c jit=off"
            )
    if url.get_dialect().get_pool_class(url) is QueuePool:  # type: ignore[attr-defined]  # a classmethod of DefaultDialect
        kwargs["poolclass"] = CountingQueuePool
        if small_pool:
            # A release's frozen reads (app.releases.dispatch): a few engines may be open
            # at once besides the main one, so each keeps few connections.
            kwargs |= {"pool_size": 2, "max_overflow": 3}
    engine = create_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
    elif not batch:
        guard_engine(engine, settings.db_deadline)
    return engine


class CountingQueuePool(QueuePool):
    """The default pool, counting the threads inside a checkout (waiting for a connection,
    or opening one) for /metrics (`cp_db_pool_waiting`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiting = 0
        self._waiting_lock = threading.Lock()

    def _do_get(self) -> ConnectionPoolEntry:
        with self._waiting_lock:
            self.waiting += 1
        try:
            return super()._do_get()
        finally:
            with self._waiting_lock:
                self.waiting -= 1


def pool_counts(engine: Engine) -> tuple[int, int]:
    """(connections checked out, threads waiting for one) of an engine's pool."""
    pool = engine.pool
    in_use = pool.checkedout() if isinstance(pool, QueuePool) else 0
    return in_use, pool.waiting if isinstance(pool, CountingQueuePool) else 0


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session per unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp on every backend: SQLite stores no offset, so values read
    back naive are UTC (all writes are UTC) and get the offset back."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def str_enum(enum_cls: type[StrEnum], name: str, *, constrained: bool = True) -> SAEnum:
    """A portable enum column: a VARCHAR holding the enum's values, plus a named CHECK."""
    return SAEnum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=constrained,
        length=32,
        values_callable=lambda members: [member.value for member in members],
    )
