"""Alembic environment: the URL comes from app settings (or the caller), metadata from app.db."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from app.db import Base, import_models, make_engine
from app.settings import Settings, get_settings

import_models()
target_metadata = Base.metadata
config = context.config


def _configure(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        # Batch mode rebuilds tables; with foreign keys enforced, rebuilding a referenced
        # table that holds rows fails. SQLite ignores this pragma inside a transaction, and
        # pysqlite has not begun one yet.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    settings = config.attributes.get("settings")
    if not isinstance(settings, Settings):
        settings = get_settings()
    engine = make_engine(settings, batch=True)
    try:
        with engine.connect() as conn:
            _configure(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run against a database.")
run_migrations_online()
