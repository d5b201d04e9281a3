"""Shared pieces of the curation tests: the `keys` fixture, request bodies and the writes
several tests start from. Keys, seed ids and the table dump come from tests/factories.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from app.vocabulary import KeyScope
from tests.factories import bearer, make_key

STATEMENT = "serbia-presidency-statement-2023-04"
# Change-log entries the seed load writes: countries, categories, sources, assessments.
SEED_CREATES = {
    "country": 39,
    "category": 4,
    "source": 19,
    "group": 2,  # the catalogue is loaded before the assessments
    "group_membership": 58,
    "claim": 19,
    "denial": 4,
    "assessment": 38,
}
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


@pytest.fixture
def keys(seeded_settings: Settings) -> Keys:
    return Keys(
        admin=make_key(seeded_settings, "alice-admin", KeyScope.admin),
        writer=make_key(seeded_settings, "walter-writer", KeyScope.write),
    )


def if_match(key: str, etag: str) -> dict[str, str]:
    return bearer(key, **{"If-Match": etag})


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
