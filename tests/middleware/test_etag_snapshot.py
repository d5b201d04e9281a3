"""A live read's ETag names the revision its body was read at (issue 20: on SQLite the
two could come from different moments, 2 of 28 captures)."""

from __future__ import annotations

import re
import threading

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.vocabulary import KeyScope
from tests.factories import bearer, make_key

TEXTS = ("Toggled evidence, even.", "Toggled evidence, odd.")
READS = 200


def test_a_live_etag_names_the_revision_its_body_was_read_at(seeded_settings: Settings) -> None:
    """One writer flips an assessment's evidence, one revision per write, while reads of
    the country's assessments run: each body must hold the text of its ETag's revision."""
    settings = seeded_settings.model_copy(update={"cache_enabled": False})
    key = make_key(settings, "walter-writer", KeyScope.write)
    with TestClient(create_app(settings)) as client:
        first = client.get("/countries/RS/assessments").json()["items"][0]
        path = f"/assessments/{first['id']}"

        def flip(text: str) -> int:
            etag = client.get(path).headers["ETag"]
            changed = client.patch(
                path, json={"evidence": text}, headers=bearer(key, **{"If-Match": etag})
            )
            assert changed.status_code == 200, changed.text
            return revision_of(client.get("/countries/RS/assessments").headers["ETag"])

        base = flip(TEXTS[0])  # the revision at which the even text holds
        stop = threading.Event()

        def writer() -> None:
            n = 1
            while not stop.is_set():
                flip(TEXTS[n % 2])
                n += 1

        thread = threading.Thread(target=writer)
        thread.start()
        mismatches = []
        try:
            for _ in range(READS):
                read = client.get("/countries/RS/assessments")
                revision = revision_of(read.headers["ETag"])
                expected = TEXTS[(revision - base) % 2]
                if expected not in read.text:
                    mismatches.append(revision)
        finally:
            stop.set()
            thread.join()
        assert mismatches == []


def revision_of(etag: str) -> int:
    found = re.fullmatch(r'W/"r(\d+)-[0-9a-f]+"', etag)
    assert found, etag
    return int(found.group(1))
