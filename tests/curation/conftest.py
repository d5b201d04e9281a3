"""Shared pieces of the curation tests: keys made through the service, request bodies, and
a dump of every table to prove a refused write left the database as it was."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select

from app.api_keys.service import create_key
from app.db import make_engine, make_sessionmaker
from app.settings import Settings
from app.vocabulary import KeyScope

CHART = "us-europe-response-chart-2023"
ARTICLE = "insight-news-how-serbia-let-putin-down"
GRAD = "telegram-serbian-grad-shipment-documents"
STATEMENT = "serbia-presidency-statement-2023-04"
# Change-log entries the seed load writes: countries, categories, sources, assessments.
SEED_CREATES = {"country": 39, "category": 4, "source": 3, "assessment": 13}
SEED_ENTRIES = sum(SEED_CREATES.values())

NEW_SOURCE: dict[str, Any] = {
    "id": STATEMENT,
    "title": "Statement of the President of Serbia on arms for Ukraine",
    "kind": "official_statement",
    "publisher": "Office of the President of Serbia",
    "url": "https://www.predsednik.rs/en/press-center/statement",
    "published_on": "2023-04-20",
    "document_date": "2023-04-20",
    "verification_status": "not_applicable",
}
# The example: Serbia says no to lethal aid, after the chart said yes.
DISSENT: dict[str, Any] = {
    "country": "RS",
    "category": "lethal_aid",
    "value": "no",
    "source": STATEMENT,
    "as_of": "2023-04-20",
    "evidence": "The presidency states that Serbia has not sent and will not send arms to Ukraine.",
}


@dataclass(frozen=True)
class Keys:
    """Plaintext keys, as `keys create` would print them, named after their scope."""

    admin: str
    writer: str


def make_key(settings: Settings, name: str, scope: KeyScope) -> str:
    """Store a key through the service (committed); return its plaintext."""
    engine = make_engine(settings)
    try:
        with make_sessionmaker(engine).begin() as session:
            _, plaintext = create_key(session, name=name, scope=scope)
    finally:
        engine.dispose()
    return plaintext


@pytest.fixture
def keys(seeded_settings: Settings) -> Keys:
    return Keys(
        admin=make_key(seeded_settings, "alice-admin", KeyScope.admin),
        writer=make_key(seeded_settings, "walter-writer", KeyScope.write),
    )


def bearer(key: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **headers}


def if_match(key: str, etag: str) -> dict[str, str]:
    return bearer(key, **{"If-Match": etag})


def dump_database(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (reflected, so nothing is left out), in a stable order."""
    engine = make_engine(settings)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return {
                name: sorted((tuple(row) for row in connection.execute(select(table))), key=repr)
                for name, table in sorted(metadata.tables.items())
            }
    finally:
        engine.dispose()


def record_statement(client: TestClient, keys: Keys) -> tuple[dict[str, Any], str]:
    """POST the new source, then the dissenting assessment; return it and its ETag."""
    source = client.post("/sources", json=NEW_SOURCE, headers=bearer(keys.admin))
    assert source.status_code == 201, source.text
    created = client.post("/assessments", json=DISSENT, headers=bearer(keys.writer))
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body, created.headers["ETag"]


def all_changes(client: TestClient) -> list[dict[str, Any]]:
    body = client.get("/changes", params={"limit": 1000}).json()
    items: list[dict[str, Any]] = body["items"]
    return items
