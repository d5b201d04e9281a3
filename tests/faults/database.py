"""What the fault tests need from the database: a dump of every row, keys, and a way to kill
every connection to a PostgreSQL database from outside the service."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.engine import Engine

from app.api_keys.service import create_key
from app.db import make_engine, make_sessionmaker
from app.settings import Settings
from app.vocabulary import KeyScope

Dump = dict[str, list[tuple[Any, ...]]]


def reflect(engine: Engine) -> MetaData:
    metadata = MetaData()
    metadata.reflect(engine)
    return metadata


def dump_tables(engine: Engine, metadata: MetaData) -> Dump:
    """Every row of every reflected table, in a stable order (so two dumps compare equal
    exactly when the data is the same)."""
    with engine.connect() as connection:
        return {
            name: sorted((tuple(row) for row in connection.execute(select(table))), key=repr)
            for name, table in sorted(metadata.tables.items())
        }


def dump_database(settings: Settings) -> Dump:
    engine = make_engine(settings)
    try:
        return dump_tables(engine, reflect(engine))
    finally:
        engine.dispose()


def make_key(settings: Settings, name: str, scope: KeyScope = KeyScope.admin) -> str:
    """Store a key through the service (committed); return its plaintext."""
    engine = make_engine(settings)
    try:
        with make_sessionmaker(engine).begin() as session:
            _, plaintext = create_key(session, name=name, scope=scope)
    finally:
        engine.dispose()
    return plaintext


def terminate_backends(database_url: str) -> int:
    """`pg_terminate_backend` every other connection to the database; return how many."""
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            killed = connection.scalar(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                    "FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    finally:
        engine.dispose()
    return int(killed or 0)
