"""Releases made before the public record recompute to their hash after its migration."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from app.db import make_engine
from app.releases.frozen import content_digest
from app.settings import Settings

# The versioned tables and their content columns as the first release format hashed them
# (migration d5b2c8e41a93), before claims, denials and the relay columns existed.
FIRST_FORMAT = {
    "countries": ["code", "alpha3", "numeric", "name", "official_name"],
    "categories": ["key", "position", "label", "definition"],
    "sources": [
        "id", "title", "kind", "publisher", "url", "published_on", "document_date",
        "classification", "verification_status", "verification_note", "coverage",
        "retracted_at", "retraction_note", "version",
    ],
    "assessments": [
        "id", "country_code", "category_key", "source_id", "reported_via_id", "as_of",
        "value", "evidence", "note", "retracted_at", "retraction_note", "version",
    ],
    "groups": ["key", "name", "description", "source_id"],
    "group_memberships": ["id", "group_key", "country_code", "joined", "left", "source_id", "note"],
}  # fmt: skip
KEYS = {"countries": "code", "categories": "key", "sources": "id", "groups": "key"}


def _canonical(column: str, value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if column == "coverage" and isinstance(value, str):
        return json.loads(value)  # a JSON column read as text
    return value


def _first_format_digest(connection: Connection) -> str:
    digest = hashlib.sha256()
    for table, columns in FIRST_FORMAT.items():
        digest.update(json.dumps(table).encode() + b"\n")
        names = ", ".join(f'"{c}"' for c in columns)
        key = KEYS.get(table, "id")
        for row in connection.execute(text(f'SELECT {names} FROM {table} ORDER BY "{key}"')):
            values = [_canonical(c, v) for c, v in zip(columns, row, strict=True)]
            digest.update(
                json.dumps(
                    values, sort_keys=True, ensure_ascii=False, separators=(",", ":")
                ).encode()
                + b"\n"
            )
    return digest.hexdigest()


def test_a_revision_without_the_new_data_hashes_as_the_first_format_did(
    seeded_settings: Settings,
) -> None:
    engine = make_engine(seeded_settings)
    try:
        with engine.connect() as connection:
            new_digest, _ = content_digest(connection)
        with engine.begin() as connection:
            # The state of a release made before the migration: no claims, no denials, the
            # new columns null.
            connection.execute(text("DELETE FROM claims"))
            connection.execute(text("DELETE FROM denials"))
            connection.execute(
                text(
                    "UPDATE sources SET language = NULL, relays = NULL,"
                    " published_on_qualifier = NULL"
                )
            )
            connection.execute(
                text("UPDATE assessments SET relayed_through = NULL, evidence_language = NULL")
            )
            first_format = _first_format_digest(connection)
            old_digest, counts = content_digest(connection)
            assert old_digest == first_format
            assert "claims" not in counts and "denials" not in counts
            assert new_digest != old_digest
            connection.rollback()
    finally:
        engine.dispose()
