from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.problems import assert_problem


def assert_not_ready(response: httpx.Response) -> dict[str, Any]:
    """/readyz's 503: a problem saying when to ask again, like the API's other 503s."""
    body = assert_problem(response, 503, "/problems/service-unavailable")
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "no-store"
    return body


def test_healthz_and_readyz_ok_on_migrated_database(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok"}


def test_readyz_is_503_when_database_not_migrated(fresh_database_url: str) -> None:
    with TestClient(create_app(Settings(database_url=fresh_database_url))) as client:
        assert client.get("/healthz").status_code == 200
        body = assert_not_ready(client.get("/readyz"))
        assert "migrate" in body["detail"]


def test_readyz_is_503_when_database_unreachable() -> None:
    settings = Settings(database_url="postgresql://nobody@127.0.0.1:1/none", db_connect_timeout=1)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        assert_not_ready(client.get("/readyz"))
        body = assert_problem(client.get("/countries/RS/positions"), 503)
        assert body["type"] == "/problems/service-unavailable"
        assert "password" not in body["detail"].lower()
        assert "nobody" not in client.get("/countries").text


def test_readyz_checks_the_read_replica_too(
    seeded_settings: Settings, fresh_database_url: str
) -> None:
    """Regression: /readyz checked only DATABASE_URL, so an instance whose replica was down
    or unmigrated reported ready while every read answered 503."""
    unmigrated = seeded_settings.model_copy(update={"database_read_url": fresh_database_url})
    with TestClient(create_app(unmigrated)) as client:
        body = assert_not_ready(client.get("/readyz"))
        assert body["detail"].startswith("The read replica schema is not at the expected")
    unreachable = seeded_settings.model_copy(
        update={
            "database_read_url": "postgresql://nobody@127.0.0.1:1/none",
            "db_connect_timeout": 1,
        }
    )
    with TestClient(create_app(unreachable)) as client:
        assert client.get("/healthz").status_code == 200
        body = assert_not_ready(client.get("/readyz"))
        assert body["detail"] == "The read replica is not reachable."
