"""PostgreSQL goes silent under a running server: packets dropped, nothing refused.

The server reaches its database through `TcpProxy`, which the test freezes: no byte flows
either way, open connections stay open, new ones are accepted and ignored. Nothing ever
fails on its own there, so only the service's own deadlines (app.db_deadline, the
listener's heartbeat) can end a wait. What users must see: a data request or a write gets
503 problem+json (each answered well within CP_REQUEST_DEADLINE + 5 s, a hang check, not
a performance figure), `/readyz` 503, `/healthz` 200; the response cache stops answering
once the revision listener cannot vouch for it, so a write made elsewhere meanwhile is
never hidden behind a stale entry; and service comes back by itself after the thaw.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from app.main import create_app
from app.settings import Settings
from tests.factories import dump_database, make_key
from tests.faults.failures import Failures, describe
from tests.faults.tcp_proxy import TcpProxy, tcp_proxy
from tests.faults.test_database_outage import (
    UNAVAILABLE,
    Server,
    assert_unavailable,
    new_assessment,
    training_value,
    wait_until_serving,
    write,
)
from tests.problems import assert_problem
from tests.servers import running_server

pytestmark = pytest.mark.postgres_only

# Any request slower than this is a hang: the deadline would have answered it long before.
HANG = Settings().request_deadline + 5
# Requests the cache may still answer before the listener notices the silence (about 3 s).
CACHE_ATTEMPTS = 40
RECOVERY_ATTEMPTS = 40


@dataclass
class SilentServer(Server):
    proxy: TcpProxy


@pytest.fixture
def silent_server(backend: str, seeded_settings: Settings) -> Iterator[SilentServer]:
    """A real server whose pool and revision listener reach the database via a TcpProxy."""
    key = make_key(seeded_settings, "silence-admin")
    url = make_url(seeded_settings.database_url)
    with tcp_proxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        with (
            running_server(proxied) as base,
            httpx.Client(base_url=base, timeout=HANG) as http,
        ):
            try:
                yield SilentServer(http, key, proxy)
            finally:
                proxy.thaw()


def get(server: Server, path: str) -> httpx.Response:
    try:
        return server.http.get(path)
    except httpx.TimeoutException:
        pytest.fail(f"GET {path} hung: no answer after {HANG}s on a silent database")


def test_requests_are_503_while_the_database_is_silent_and_200_once_it_answers(
    silent_server: SilentServer, seeded_settings: Settings
) -> None:
    server = silent_server
    assert training_value(server, "AT") == "no"
    assert get(server, "/readyz").status_code == 200
    before = dump_database(seeded_settings)  # directly, not through the proxy

    server.proxy.freeze()
    failures = Failures()
    # Never seen by the cache: the request has to reach the database.
    response = get(server, "/countries/RS/positions?as_of=2023-03-01")
    with failures.case(describe(response)):
        assert_unavailable(response)
    response = write(server, "2023-07-01")
    with failures.case(describe(response)):
        assert_unavailable(response)
    response = get(server, "/readyz")
    with failures.case(describe(response)):
        assert_problem(response, 503, UNAVAILABLE)
    response = get(server, "/healthz")
    with failures.case(describe(response)):
        assert response.status_code == 200 and response.json() == {"status": "ok"}
    failures.check()
    assert dump_database(seeded_settings) == before, "the failed write left something behind"

    server.proxy.thaw()
    wait_until_serving(server, "/countries/RS/positions?as_of=2023-03-01")
    # Whatever the frozen connections had buffered reached the database on the thaw: still
    # nothing of the refused write is stored.
    assert dump_database(seeded_settings) == before, "the failed write landed after the thaw"
    response = write(server, "2023-07-02")
    assert response.status_code == 201, describe(response)
    assert training_value(server, "AT") == "yes"


def test_cache_is_not_trusted_while_the_listener_is_silent(
    silent_server: SilentServer, seeded_settings: Settings
) -> None:
    """While this instance's listener cannot vouch for its cache, a cached URL goes to the
    (silent) database and is a 503, never the old answer served as current: a write made
    meanwhile through another instance shows the moment the database answers again."""
    server = silent_server
    assert training_value(server, "AT") == "no"
    assert training_value(server, "AT") == "no"  # now a cache hit

    server.proxy.freeze()
    for _ in range(CACHE_ATTEMPTS):
        response = get(server, "/countries/AT/positions")
        if response.status_code != 200:
            break
        assert response.json()["positions"][0]["value"] == "no"
        time.sleep(0.25)
    else:
        pytest.fail(f"the cache kept answering {CACHE_ATTEMPTS} requests on a silent database")
    assert_unavailable(response)

    # Another instance, on a healthy path to the same database, records a change.
    with TestClient(create_app(seeded_settings)) as other:
        recorded = other.post(
            "/assessments",
            json=new_assessment("2023-06-01"),
            headers={"Authorization": f"Bearer {server.key}"},
        )
        assert recorded.status_code == 201, recorded.text
    assert_unavailable(get(server, "/countries/AT/positions"))

    server.proxy.thaw()
    for _ in range(RECOVERY_ATTEMPTS):
        response = get(server, "/countries/AT/positions")
        if response.status_code != 503:
            break
        time.sleep(0.25)
    # The first answer after the thaw is already the new one.
    assert response.status_code == 200, describe(response)
    assert response.json()["positions"][0]["value"] == "yes"
