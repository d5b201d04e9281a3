"""Pagination headers (app/http/pagination.py, app/http/links.py): Link and
X-Total-Count."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient


def _links(response: httpx.Response) -> dict[str, tuple[str, dict[str, str]]]:
    """rel -> (path, query parameters) of each Link."""
    links: dict[str, tuple[str, dict[str, str]]] = {}
    for rel, link in response.links.items():
        assert rel is not None
        url = httpx.URL(link["url"])
        links[rel] = (url.path, dict(url.params))
    return links


def test_link_header_on_a_middle_page(client: TestClient) -> None:
    response = client.get("/countries", params={"limit": 2, "offset": 2})
    assert response.headers["x-total-count"] == "39"
    assert _links(response) == {
        "first": ("/countries", {"limit": "2", "offset": "0"}),
        "prev": ("/countries", {"limit": "2", "offset": "0"}),
        "next": ("/countries", {"limit": "2", "offset": "4"}),
        "last": ("/countries", {"limit": "2", "offset": "38"}),
    }


def test_link_header_on_the_first_page_has_no_prev(client: TestClient) -> None:
    response = client.get("/countries", params={"limit": 10})
    assert _links(response) == {
        "first": ("/countries", {"limit": "10", "offset": "0"}),
        "next": ("/countries", {"limit": "10", "offset": "10"}),
        "last": ("/countries", {"limit": "10", "offset": "30"}),
    }


def test_link_header_on_the_last_page_has_no_next(client: TestClient) -> None:
    response = client.get("/countries", params={"limit": 2, "offset": 38})
    assert response.headers["x-total-count"] == "39"
    assert _links(response) == {
        "first": ("/countries", {"limit": "2", "offset": "0"}),
        "prev": ("/countries", {"limit": "2", "offset": "36"}),
        "last": ("/countries", {"limit": "2", "offset": "38"}),
    }


def test_link_header_of_a_single_page(client: TestClient) -> None:
    response = client.get("/countries")
    assert response.headers["x-total-count"] == "39"
    assert _links(response) == {
        "first": ("/countries", {"limit": "50", "offset": "0"}),
        "last": ("/countries", {"limit": "50", "offset": "0"}),
    }


def test_link_header_keeps_the_other_query_parameters(client: TestClient) -> None:
    response = client.get(
        "/positions", params={"category": "training", "value": "no", "limit": 1, "offset": 1}
    )
    assert response.headers["x-total-count"] == "3"
    filters = {"category": "training", "value": "no", "limit": "1"}
    assert _links(response) == {
        "first": ("/positions", {**filters, "offset": "0"}),
        "prev": ("/positions", {**filters, "offset": "0"}),
        "next": ("/positions", {**filters, "offset": "2"}),
        "last": ("/positions", {**filters, "offset": "2"}),
    }


def test_following_next_links_walks_the_whole_catalogue(client: TestClient) -> None:
    codes: list[str] = []
    url: str | None = "/countries?limit=10"
    pages = 0
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200
        codes += [c["code"] for c in response.json()["items"]]
        url = response.links.get("next", {}).get("url")
        pages += 1
    assert pages == 4
    everything = client.get("/countries", params={"limit": 500}).json()["items"]
    assert codes == [c["code"] for c in everything]


def test_total_count_header_on_exports(client: TestClient) -> None:
    everything = client.get("/positions", params={"format": "csv"})
    assert everything.headers["x-total-count"] == "39"
    # No page links, only the CSV's metadata document (tests/http/test_csv_types.py).
    assert 'rel="describedby"' in everything.headers["link"]
    assert 'rel="first"' not in everything.headers["link"]
    paged = client.get("/positions", params={"format": "ndjson", "limit": 10})
    assert paged.headers["x-total-count"] == "39"
    assert _links(paged)["next"] == (
        "/positions",
        {"format": "ndjson", "limit": "10", "offset": "10"},
    )
    assessments = client.get("/countries/RS/assessments")
    assert assessments.headers["x-total-count"] == "5"
