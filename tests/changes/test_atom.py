"""`GET /changes.atom`: the change log as an Atom feed, read as a feed reader reads it
(feedparser): newest first, stable ids, one sentence per change, a per-country feed,
escaping, conditional GET, and one documented media type."""

from __future__ import annotations

import re
from typing import Any

import feedparser
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.vocabulary import KeyScope
from tests.factories import CHART, bearer, make_key
from tests.problems import assert_problem

ATOM = "application/atom+xml"
ENTRY_ID = re.compile(r"^urn:country-positions:change:(\d+)$")


@pytest.fixture
def alice(seeded_settings: Settings) -> str:
    return make_key(seeded_settings, "alice", KeyScope.admin)


def read_feed(client: TestClient, **params: str) -> Any:
    response = client.get("/changes.atom", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == ATOM
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed


def change_ids(feed: Any) -> list[int]:
    ids = []
    for entry in feed.entries:
        match = ENTRY_ID.match(entry.id)
        assert match, entry.id
        ids.append(int(match.group(1)))
    return ids


def log(client: TestClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/changes", params={"limit": 1000}).json()["items"]
    return items


def links(item: Any) -> dict[str, str]:
    return {link.rel: link.href for link in item.links}


def serbia_lethal_aid(client: TestClient) -> int:
    """The id of the chart's seeded Serbia / lethal aid assessment (value yes)."""
    (found,) = [
        e["after"]["id"]
        for e in log(client)
        if e["entity"] == "assessment"
        and e["after"]["country_code"] == "RS"
        and e["after"]["category_key"] == "lethal_aid"
        and e["after"]["source_id"] == CHART
    ]
    assessment_id: int = found
    return assessment_id


def test_seeded_feed_lists_the_latest_changes_newest_first(client: TestClient) -> None:
    feed = read_feed(client)
    ids = change_ids(feed)
    everything = log(client)
    assert len(everything) > 100
    assert ids == [e["id"] for e in reversed(everything)][:100]
    assert len(set(ids)) == len(ids)
    assert change_ids(read_feed(client)) == ids  # stable from one read to the next

    assert feed.feed.id == "urn:country-positions:changes"
    assert feed.feed.title == "country-positions: change log"
    assert feed.feed.updated == feed.entries[0].updated
    assert links(feed.feed) == {"self": "/changes.atom", "alternate": "/"}
    published = [e.published_parsed for e in feed.entries]
    assert published == sorted(published, reverse=True)

    newest = feed.entries[0]
    assert newest.author == "seed"
    assert newest.updated == newest.published
    # The seed loads assessments last: the newest entry is the file's last row, Croatia's.
    assert newest.title == (
        "Croatia · Future will: yes (new, source us-europe-response-chart-2023, by the seed loader)"
    )
    assert links(newest) == {
        "alternate": f"/assessments/{everything[-1]['after']['id']}",
        "related": f"/changes?since={ids[0] - 1}&limit=1",
    }
    assert newest.content[0].type == "text/plain"
    assert "value: yes" in newest.content[0].value
    assert [t.term for t in newest.tags] == ["assessment", "create"]

    assert len(read_feed(client, limit="5").entries) == 5
    assert links(read_feed(client, limit="5").feed)["self"] == "/changes.atom?limit=5"


def test_a_correction_reads_old_to_new_under_the_key_name(client: TestClient, alice: str) -> None:
    assessment_id = serbia_lethal_aid(client)
    path = f"/assessments/{assessment_id}"
    etag = client.get(path).headers["ETag"]
    changed = client.patch(path, json={"value": "no"}, headers=bearer(alice, **{"If-Match": etag}))
    assert changed.status_code == 200, changed.text

    newest = read_feed(client).entries[0]
    assert newest.title == f"Serbia · Lethal aid: yes → no (source {CHART}, by key alice)"
    assert newest.author == "alice"
    assert links(newest)["alternate"] == path
    assert "value: yes → no" in newest.content[0].value
    assert "version" not in newest.content[0].value

    edited = client.patch(
        path,
        json={"note": "Checked against the article."},
        headers=bearer(alice, **{"If-Match": changed.headers["ETag"]}),
    )
    assert edited.status_code == 200, edited.text
    retracted = client.delete(
        path,
        params={"note": "Misread."},
        headers=bearer(alice, **{"If-Match": edited.headers["ETag"]}),
    )
    assert retracted.status_code == 204, retracted.text
    assert [e.title for e in read_feed(client).entries[:3]] == [
        f"Serbia · Lethal aid: no retracted (source {CHART}, by key alice)",
        f"Serbia · Lethal aid: no, note edited (source {CHART}, by key alice)",
        f"Serbia · Lethal aid: yes → no (source {CHART}, by key alice)",
    ]


def test_country_feed_follows_one_country(client: TestClient, alice: str) -> None:
    serbia = read_feed(client, country="rs")
    assert change_ids(read_feed(client, country="SRB")) == change_ids(serbia)
    assert serbia.feed.id == "urn:country-positions:changes:country:RS"
    assert serbia.feed.title == "country-positions: change log for Serbia"
    assert links(serbia.feed)["self"] == "/changes.atom?country=RS"

    about_serbia = [
        e["id"]
        for e in reversed(log(client))
        if (e["entity"] == "country" and e["entity_id"] == "RS")
        or (e["entity"] != "country" and (e["after"] or {}).get("country_code") == "RS")
        or "RS" in ((e["after"] or {}).get("countries") or ())
    ]
    assert change_ids(serbia) == about_serbia
    titles = [e.title for e in serbia.entries]
    assert all(t.startswith("Serbia") for t in titles), titles
    assert titles[-1] == "Serbia (RS) added (by the seed loader)"
    # Its denials and the claims naming it follow it too.
    assert (
        "Serbia · Lethal aid: denial by Aleksandar Vučić (2023-04-13) added (by the seed loader)"
        in titles
    )
    assert (
        "Serbia · claim wp-pl-rs-training by wp-pl-serbia-denies-arms-2023 (Training, "
        "deprecated) added (by the seed loader)"
    ) in titles
    # Greece's feed holds its lumped claims, though it has no value.
    greece = [e.title for e in read_feed(client, country="GR").entries]
    assert sum("(no column)" in t for t in greece) == 3, greece

    # A write about another country stays out of Serbia's feed.
    other = client.post(
        "/assessments",
        json={
            "country": "AT",
            "category": "training",
            "value": "yes",
            "source": CHART,
            "as_of": "2023-05-01",
            "evidence": "Test.",
        },
        headers=bearer(alice),
    )
    assert other.status_code == 201, other.text
    assert change_ids(read_feed(client, country="RS")) == about_serbia
    austria = [e.title for e in read_feed(client, country="AT").entries]
    assert austria[0] == f"Austria · Training: yes (new, source {CHART}, by key alice)"
    assert any(
        t.startswith("Austria · European Union: member from 1995-01-01 (new, ") for t in austria
    )


def test_unknown_country_is_404_and_bad_params_are_422(client: TestClient) -> None:
    assert_problem(
        client.get("/changes.atom", params={"country": "ZZ"}), 404, "/problems/not-found"
    )
    for query in ("country=serbia", "limit=0", "since=3", "country=RS&country=AT"):
        assert_problem(client.get(f"/changes.atom?{query}"), 422, "/problems/invalid-input")


def test_markup_in_evidence_and_titles_is_escaped(client: TestClient, alice: str) -> None:
    source = client.post(
        "/sources",
        json={
            "id": "markup-test",
            "title": 'Tom & Jerry <b>"quoted"</b> ]]>',
            "kind": "other",
            "verification_status": "unverified",
        },
        headers=bearer(alice),
    )
    assert source.status_code == 201, source.text
    evidence = "<script>alert('x')</script> & &amp; ]]> \"q\"\x01 end"
    created = client.post(
        "/assessments",
        json={
            "country": "RS",
            "category": "training",
            "value": "yes",
            "source": "markup-test",
            "as_of": "2023-05-01",
            "evidence": evidence,
            "note": "<![CDATA[ not markup ]]>",
        },
        headers=bearer(alice),
    )
    assert created.status_code == 201, created.text

    assessment, source_entry = read_feed(client).entries[:2]
    assert source_entry.title == (
        'Source markup-test (Tom & Jerry <b>"quoted"</b> ]]>) added (by key alice)'
    )
    text = assessment.content[0].value
    assert f"evidence: {evidence.replace(chr(1), chr(0xFFFD))}" in text
    assert "note: <![CDATA[ not markup ]]>" in text


def test_source_edits_and_retractions_read_as_sentences(client: TestClient, alice: str) -> None:
    path = f"/sources/{CHART}"
    etag = client.get(path).headers["ETag"]
    edited = client.patch(
        path,
        json={"verification_status": "disputed", "verification_note": "Contested."},
        headers=bearer(alice, **{"If-Match": etag}),
    )
    assert edited.status_code == 200, edited.text
    retracted = client.delete(
        path,
        params={"note": "Test."},
        headers=bearer(alice, **{"If-Match": edited.headers["ETag"]}),
    )
    assert retracted.status_code == 204, retracted.text
    title = client.get(path).json()["title"]
    newest, before = read_feed(client).entries[:2]
    assert newest.title == f"Source {CHART} ({title}) retracted (by key alice)"
    assert before.title == (
        f"Source {CHART} ({title}) edited: "
        "verification status unverified → disputed, verification note (by key alice)"
    )
    assert links(before)["alternate"] == path
    assert before.content[0].value.endswith(" → Contested.")


def test_public_url_makes_feed_links_absolute(seeded_settings: Settings) -> None:
    base = "https://api.example.org/v1"
    app = create_app(seeded_settings.model_copy(update={"public_url": base}))
    with TestClient(app) as public:
        response = public.get("/changes.atom", params={"country": "RS"})
        feed = feedparser.parse(response.content)
    assert not feed.bozo
    assert links(feed.feed) == {"self": f"{base}/changes.atom?country=RS", "alternate": f"{base}/"}
    assert links(feed.entries[0])["alternate"].startswith(f"{base}/assessments/")
    assert feed.entries[0].id.startswith("urn:country-positions:change:")  # not host-bound


def test_feed_revalidates_until_the_data_changes(client: TestClient, alice: str) -> None:
    first = client.get("/changes.atom")
    etag = first.headers["ETag"]
    again = client.get("/changes.atom", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    head = client.head("/changes.atom")
    assert head.status_code == 200
    assert head.headers["ETag"] == etag
    assert head.headers["content-type"] == ATOM
    assessment_id = serbia_lethal_aid(client)
    current = client.get(f"/assessments/{assessment_id}").headers["ETag"]
    client.patch(
        f"/assessments/{assessment_id}",
        json={"value": "no"},
        headers=bearer(alice, **{"If-Match": current}),
    )
    fresh = client.get("/changes.atom", headers={"If-None-Match": etag})
    assert fresh.status_code == 200
    assert fresh.headers["ETag"] != etag
    assert b"by key alice" in fresh.content


def test_empty_log_is_a_valid_feed_with_a_fixed_date(empty_client: TestClient) -> None:
    feed = read_feed(empty_client)
    assert feed.entries == []
    assert feed.feed.updated == "1970-01-01T00:00:00Z"


def test_feed_is_one_operation_with_one_media_type(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/changes.atom"]["get"]
    assert operation["operationId"] == "getChangesFeed"
    assert operation["tags"] == ["changes"]
    assert operation["description"]
    assert operation["responses"]["200"]["content"] == {ATOM: {"schema": {"type": "string"}}}
    assert "404" in operation["responses"]
