"""What the fault tests need from the database beyond tests/factories.py: a way to kill
every connection to a PostgreSQL database from outside the service."""

from __future__ import annotations

from sqlalchemy import create_engine, text


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
