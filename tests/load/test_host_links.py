"""No response depends on an untrusted `Host` (issue 10, item 6).

The regression: a `Host: evil.example` request filled the response cache with `Link`
headers naming evil.example, and every later client got them until the next write.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.vocabulary import KeyScope
from tests.curation.conftest import NEW_SOURCE
from tests.factories import bearer, make_key
from tests.problems import assert_problem

EVIL = "evil.example"
PAGE = "/countries?limit=10&offset=10"


def _everything(response: httpx.Response) -> str:
    """Every header and the body, as one text to search."""
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    return f"{headers}\n{response.text}"


@pytest.fixture
def public_client(seeded_settings: Settings) -> Iterator[TestClient]:
    settings = seeded_settings.model_copy(update={"public_url": "https://api.example.org/v1"})
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def guarded_client(seeded_settings: Settings) -> Iterator[TestClient]:
    settings = seeded_settings.model_copy(
        update={"allowed_hosts": ["api.example.org", "*.example.net"]}
    )
    with TestClient(create_app(settings), base_url="http://api.example.org") as client:
        yield client


def test_forged_host_never_reaches_a_later_client(client: TestClient) -> None:
    forged = client.get(PAGE, headers={"Host": EVIL})
    assert forged.status_code == 200
    assert EVIL not in _everything(forged)
    # The same URL again, twice: the first may fill the cache, the second is a hit.
    for _ in range(2):
        later = client.get(PAGE)
        assert later.status_code == 200
        assert EVIL not in _everything(later)
        assert later.headers["link"] == (
            '</countries?limit=10&offset=0>; rel="first", '
            '</countries?limit=10&offset=0>; rel="prev", '
            '</countries?limit=10&offset=20>; rel="next", '
            '</countries?limit=10&offset=30>; rel="last"'
        )
        assert later.headers["etag"] == forged.headers["etag"]


def test_location_of_a_create_is_relative_whatever_the_host(
    client: TestClient, seeded_settings: Settings
) -> None:
    admin = make_key(seeded_settings, "alice-admin", KeyScope.admin)
    created = client.post("/sources", json=NEW_SOURCE, headers=bearer(admin, Host=EVIL))
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/sources/{NEW_SOURCE['id']}"
    assert EVIL not in _everything(created)


def test_host_outside_allowed_hosts_is_400(guarded_client: TestClient) -> None:
    for host in (EVIL, "api.example.org.evil.example", "example.net", ""):
        response = guarded_client.get(PAGE, headers={"Host": host})
        body = assert_problem(response, 400, "/problems/invalid-host")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert EVIL not in body["detail"]


def test_a_repeated_host_is_400_whatever_the_allowed_hosts(
    client: TestClient, guarded_client: TestClient
) -> None:
    """Issue 20: the first of two `Host` fields won (RFC 9112 §3.2 asks for a 400)."""
    for served in (client, guarded_client):  # CP_ALLOWED_HOSTS `*`, and a list
        for host in ("api.example.org", EVIL):
            headers = [("Host", "api.example.org"), ("Host", host)]
            response = served.get(PAGE, headers=headers)
            body = assert_problem(response, 400, "/problems/invalid-host")
            assert "more than one Host" in body["detail"]


def test_allowed_hosts_match_with_or_without_a_port(guarded_client: TestClient) -> None:
    for host in ("api.example.org", "API.example.org:8443", "a.example.net", "b.a.example.net"):
        response = guarded_client.get(PAGE, headers={"Host": host})
        assert response.status_code == 200, host


def test_probes_answer_any_host(guarded_client: TestClient) -> None:
    # Orchestrators probe by container address, not by the public name.
    assert guarded_client.get("/healthz", headers={"Host": "10.0.0.7:8000"}).status_code == 200
    assert guarded_client.get("/readyz", headers={"Host": "10.0.0.7:8000"}).status_code == 200


def test_public_url_makes_links_absolute_under_it(public_client: TestClient) -> None:
    for host in (EVIL, "testserver"):
        response = public_client.get(PAGE, headers={"Host": host})
        assert response.status_code == 200
        assert response.links["next"]["url"] == (
            "https://api.example.org/v1/countries?limit=10&offset=20"
        )
        assert EVIL not in _everything(response)


def test_public_url_makes_location_absolute(
    public_client: TestClient, seeded_settings: Settings
) -> None:
    admin = make_key(seeded_settings, "alice-admin", KeyScope.admin)
    created = public_client.post("/sources", json=NEW_SOURCE, headers=bearer(admin, Host=EVIL))
    assert created.status_code == 201, created.text
    assert created.headers["location"] == (f"https://api.example.org/v1/sources/{NEW_SOURCE['id']}")


@pytest.mark.parametrize(
    "value", ["api.example.org", "ftp://api.example.org", "https://api.example.org/?a=1"]
)
def test_public_url_must_be_an_http_url(value: str) -> None:
    with pytest.raises(ValueError, match="public_url"):
        Settings(public_url=value)


def test_public_url_loses_its_trailing_slash() -> None:
    assert Settings(public_url="https://api.example.org/").public_url == "https://api.example.org"
