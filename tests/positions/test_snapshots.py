"""Positions kept per canonical date (app/assessments/snapshots.py) read exactly what a
fresh derivation reads: for any `as_of`, before and after writes, per source, and with
the memo warm or cold (issue 10, "fast misses")."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.assessments.snapshots import PositionSnapshots
from app.db import make_engine, make_sessionmaker
from app.main import create_app
from app.settings import Settings
from app.vocabulary import KeyScope
from tests.factories import CHART, bearer, make_key


def _fresh(reference: TestClient, path: str) -> httpx.Response:
    """The same request to an app with an empty memo and no response cache."""
    reference.app.state.snapshots = PositionSnapshots()  # type: ignore[attr-defined]
    response: httpx.Response = reference.get(path)
    return response


def test_any_as_of_reads_what_a_fresh_app_reads(seeded_settings: Settings) -> None:
    rng = random.Random(10)
    dates = [date(2023, 3, 2), date(2023, 3, 1), date(2023, 3, 3), date(1999, 1, 1)]
    dates += [date(2022, 1, 1) + timedelta(days=rng.randrange(900)) for _ in range(12)]
    paths = []
    for day in dates:
        for code in ("RS", "srb", "AT", "DE"):
            paths.append(f"/countries/{code}/positions?as_of={day.isoformat()}")
        paths.append(f"/positions?as_of={day.isoformat()}&limit=500")
        paths.append(f"/positions?as_of={day.isoformat()}&source={CHART}&format=csv")
        paths.append(f"/stats?as_of={day.isoformat()}")
    uncached = seeded_settings.model_copy(update={"cache_enabled": False})
    with (
        TestClient(create_app(seeded_settings)) as client,
        TestClient(create_app(uncached)) as reference,
    ):
        for _ in range(2):  # cold, then warm
            for path in paths:
                served = client.get(path)
                assert served.status_code == 200, path
                assert served.content == _fresh(reference, path).content, path


def test_before_any_assessment_every_position_is_unknown(client: TestClient) -> None:
    body = client.get("/countries/RS/positions?as_of=1990-05-05").json()
    assert body["as_of"] == "1990-05-05"
    assert [p["value"] for p in body["positions"]] == ["unknown"] * 4
    assert all(p["assessments"] == [] for p in body["positions"])


def test_the_requested_as_of_is_echoed_even_when_the_entry_is_shared(client: TestClient) -> None:
    first = client.get("/countries/RS/positions?as_of=2024-01-01").json()
    second = client.get("/countries/RS/positions?as_of=2025-06-30").json()
    assert first["as_of"] == "2024-01-01" and second["as_of"] == "2025-06-30"
    assert first["positions"] == second["positions"]


def test_a_write_on_a_new_date_is_seen_by_every_as_of_after_it(
    seeded_settings: Settings,
) -> None:
    with TestClient(create_app(seeded_settings)) as client:
        before = client.get("/countries/DE/positions?as_of=2025-01-01").json()
        assert before["positions"][0]["value"] == "unknown"
        created = client.post(
            "/assessments",
            headers=bearer(make_key(seeded_settings, "snapshots", KeyScope.write)),
            json={
                "country": "DE",
                "category": "training",
                "value": "yes",
                "source": CHART,
                "as_of": "2024-06-01",
                "evidence": "A test assessment on a date no other assessment has.",
            },
        )
        assert created.status_code == 201, created.text
        for day, expected in (
            ("2024-05-31", "unknown"),
            ("2024-06-01", "yes"),
            ("2025-01-01", "yes"),
        ):
            body = client.get(f"/countries/DE/positions?as_of={day}").json()
            assert body["positions"][0]["value"] == expected, day
        assert client.get("/countries/DE/positions").json()["positions"][0]["value"] == "yes"


def test_unknown_country_and_source_are_404_problems(client: TestClient) -> None:
    for path in (
        "/countries/ZZ/positions?as_of=2024-01-01",
        "/countries/RS/positions?source=no-such-source",
        "/positions?source=no-such-source",
        "/stats?source=no-such-source",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"


def test_an_older_revision_never_replaces_a_newer_view(seeded_settings: Settings) -> None:
    snapshots = PositionSnapshots()
    engine = make_engine(seeded_settings)
    try:
        with make_sessionmaker(engine)() as session:
            revision, _ = snapshots.country(session, "RS", None, None)
        newer = snapshots.view(revision + 1)
        older = snapshots.view(revision)
        assert older is not newer and snapshots.view(revision + 1) is newer
        assert snapshots.peek_country(revision, "RS", None, None) is None
    finally:
        engine.dispose()


def test_the_memo_is_bounded(seeded_settings: Settings) -> None:
    snapshots = PositionSnapshots(max_entries=3)
    engine = make_engine(seeded_settings)
    try:
        with make_sessionmaker(engine)() as session:
            for code in ("RS", "AT", "MT", "DE", "FR"):
                revision, _ = snapshots.country(session, code, None, None)
        held = [
            code
            for code in ("RS", "AT", "MT", "DE", "FR")
            if snapshots.peek_country(revision, code, None, None) is not None
        ]
        assert held == ["MT", "DE", "FR"]
    finally:
        engine.dispose()


PER_REQUEST = ("x-request-id", "server-timing")  # differ on every request, by design


def _stable(headers: httpx.Headers) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k not in PER_REQUEST}


def test_the_fast_lane_answers_exactly_as_the_route(seeded_settings: Settings) -> None:
    """With the response cache off, the first request goes through the route (which
    derives), the second is answered by the fast lane: same status, headers and body."""
    uncached = seeded_settings.model_copy(update={"cache_enabled": False})
    paths = [
        "/countries/RS/positions",
        "/countries/srb/positions?as_of=2023-03-02",
        f"/countries/AT/positions?as_of=2024-02-29&source={CHART}",
        "/countries/MT/positions?source=insight-news-how-serbia-let-putin-down",
        "/positions",
        "/positions?as_of=2023-03-02&limit=5&offset=3",
        f"/positions?source={CHART}&limit=500&offset=0",
        "/positions?limit=10&offset=35",
    ]
    with TestClient(create_app(uncached)) as client:
        for path in paths:
            for headers in (
                {},
                {"Accept-Encoding": "gzip", "Origin": "https://example.org"},
                {"Accept": "application/json"},
            ):
                routed = client.get(path, headers=headers)
                laned = client.get(path, headers=headers)
                assert routed.status_code == laned.status_code == 200, path
                assert _stable(routed.headers) == _stable(laned.headers), path
                assert routed.content == laned.content, path
            head = client.head(path)
            assert head.status_code == 200 and head.content == b""


def test_what_the_fast_lane_cannot_vouch_for_goes_to_the_route(client: TestClient) -> None:
    client.get("/countries/RS/positions?as_of=2024-01-01")  # the entry is derived
    for path, status in (
        ("/countries/RS/positions?as_of=2024-01-01&as_of=2024-01-02", 422),
        ("/countries/RS/positions?as_of=2024-1-1", 422),
        ("/countries/RS/positions?as_of=2024-02-30", 422),
        ("/countries/RS/positions?asof=2024-01-01", 422),
        ("/countries/RS/positions?source=Not_A_Source", 422),
        ("/countries/RS/positions?source=no-such-source", 404),
        ("/countries/ZZ/positions?as_of=2024-01-01", 404),
        ("/countries/RSX/positions?as_of=2024-01-01", 404),
        ("/positions?limit=0", 422),
        ("/positions?limit=501", 422),
        ("/positions?offset=-1", 422),
        ("/positions?limit=5&limit=6", 422),
        ("/positions?category=morale", 422),
        ("/positions?format=xml", 406),
    ):
        response = client.get(path)
        assert response.status_code == status, path
        assert response.headers["content-type"] == "application/problem+json", path


def test_held_positions_are_answered_without_deriving_again(
    seeded_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: the lane once stashed its answer in the lifespan's state, which every
    request's state is copied from, so it never answered at all (and misses queued)."""
    derived: list[str] = []
    original = PositionSnapshots.country

    def counting(
        self: PositionSnapshots, session: Session, code: str, *args: Any
    ) -> tuple[int, bytes]:
        derived.append(code)
        return original(self, session, code, *args)

    monkeypatch.setattr(PositionSnapshots, "country", counting)
    uncached = seeded_settings.model_copy(update={"cache_enabled": False})
    with TestClient(create_app(uncached)) as client:
        for day in ("2024-01-01", "2024-01-02", "2025-03-04", "2030-12-31"):
            assert client.get(f"/countries/RS/positions?as_of={day}").status_code == 200
    assert derived == ["RS"]


def test_the_chart_lane_leaves_filters_and_other_formats_to_the_route(
    client: TestClient,
) -> None:
    client.get("/positions")  # every country's entry is derived
    csv = client.get("/positions", headers={"Accept": "text/csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    ndjson = client.get("/positions?format=ndjson")
    assert ndjson.headers["content-type"] == "application/x-ndjson"
    filtered = client.get("/positions?category=training&value=no").json()
    assert sorted(i["country"]["code"] for i in filtered["items"]) == ["AT", "MT", "RS"]
