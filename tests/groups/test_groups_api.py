"""Groups over HTTP: `GET /groups`, `GET /groups/{key}`, and `group=` on `/countries`,
`/positions` and `/stats`, membership read on `as_of` (or today), on both backends."""

from __future__ import annotations

import csv
import io
import json
import shutil
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.factories import SEEDS, load_seed_folder
from tests.problems import assert_problem

CHART_DATE = "2023-03-02"
# NATO's members among the catalogue's countries on the chart's date: every member today
# but Finland (joined 2023-04-04) and Sweden (2024-03-07).
NATO_ON_CHART_DATE = {
    *[
        "AL",
        "BE",
        "BG",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FR",
        "GB",
        "GR",
        "HR",
        "HU",
        "IS",
        "IT",
        "LT",
        "LU",
        "LV",
        "ME",
        "MK",
        "NL",
        "NO",
        "PL",
        "PT",
        "RO",
        "SI",
        "SK",
        "TR",
    ]
}
EU_TODAY = {
    *[
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
}


def _codes(page: dict[str, object]) -> set[str]:
    items = page["items"]
    assert isinstance(items, list)
    return {item["country"]["code"] for item in items}


def _chart(client: TestClient, **params: str) -> dict[str, object]:
    response = client.get("/positions", params={"limit": "500", **params})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


# --- the done-when: NATO as of the chart's date -------------------------------------------


def test_positions_of_nato_as_of_chart_date_leave_out_finland_and_sweden(
    client: TestClient,
) -> None:
    page = _chart(client, group="nato", as_of=CHART_DATE)

    assert _codes(page) == NATO_ON_CHART_DATE
    assert page["total"] == 28
    assert {"FI", "SE"} & _codes(page) == set()


def test_positions_of_nato_today_include_finland_and_sweden(client: TestClient) -> None:
    page = _chart(client, group="nato")

    assert _codes(page) == NATO_ON_CHART_DATE | {"FI", "SE"}
    assert page["total"] == 30


def test_positions_of_a_group_keep_the_chart_order_and_values(client: TestClient) -> None:
    whole = _chart(client, as_of=CHART_DATE)
    nato = _chart(client, group="nato", as_of=CHART_DATE)
    items = whole["items"]
    assert isinstance(items, list)
    assert nato["items"] == [i for i in items if i["country"]["code"] in NATO_ON_CHART_DATE]


def test_positions_csv_and_ndjson_of_a_group_hold_its_members_only(client: TestClient) -> None:
    params = {"group": "nato", "as_of": CHART_DATE}
    csv_response = client.get("/positions", params={**params, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(csv_response.text)))
    assert {row["code"] for row in rows} == NATO_ON_CHART_DATE
    assert csv_response.headers["x-total-count"] == "28"

    ndjson = client.get("/positions", params=params, headers={"Accept": "application/x-ndjson"})
    lines = [json.loads(line) for line in ndjson.text.splitlines()]
    assert {line["country"]["code"] for line in lines} == NATO_ON_CHART_DATE


def test_positions_of_a_group_combine_with_position_filters(client: TestClient) -> None:
    page = _chart(client, group="eu", as_of=CHART_DATE, category="training", value="no")
    assert _codes(page) == {"AT", "MT"}  # Serbia, the third "no", is not in the EU
    page = _chart(client, group="nato", as_of=CHART_DATE, reported="true")
    # Austria, Malta and Serbia are not NATO members; Delo's thirteen all were.
    assert _codes(page) == {
        "BE", "BG", "DK", "EE", "HR", "IS", "LT", "LU", "LV", "PT", "RO", "SI", "SK",
    }  # fmt: skip


# --- left is exclusive: the United Kingdom and the EU ---------------------------------------


def test_eu_on_the_day_before_brexit_includes_the_united_kingdom(client: TestClient) -> None:
    page = _chart(client, group="eu", as_of="2020-01-30")
    assert _codes(page) == EU_TODAY | {"GB"}
    group = client.get("/groups/eu", params={"as_of": "2020-01-30"}).json()
    assert group["member_count"] == 28
    assert "GB" in {m["country_code"] for m in group["members"]}


@pytest.mark.parametrize("as_of", ["2020-01-31", "2020-02-01", CHART_DATE])
def test_eu_from_brexit_on_leaves_out_the_united_kingdom(client: TestClient, as_of: str) -> None:
    assert _codes(_chart(client, group="eu", as_of=as_of)) == EU_TODAY
    countries = client.get("/countries", params={"group": "eu", "as_of": as_of, "limit": 100})
    assert {c["code"] for c in countries.json()["items"]} == EU_TODAY


def test_eu_today_leaves_out_the_united_kingdom(client: TestClient) -> None:
    assert _codes(_chart(client, group="eu")) == EU_TODAY


def test_before_a_group_existed_it_has_no_members(client: TestClient) -> None:
    page = _chart(client, group="nato", as_of="1949-08-23")
    assert page["total"] == 0 and page["items"] == []
    assert _codes(_chart(client, group="nato", as_of="1949-08-24")) == {
        *["BE", "DK", "FR", "GB", "IS", "IT", "LU", "NL", "NO", "PT"]
    }


# --- /countries and /stats ---------------------------------------------------------------


def test_countries_of_nato_as_of_chart_date(client: TestClient) -> None:
    response = client.get("/countries", params={"group": "nato", "as_of": CHART_DATE})
    body = response.json()
    assert {c["code"] for c in body["items"]} == NATO_ON_CHART_DATE
    assert body["total"] == 28 and response.headers["x-total-count"] == "28"
    names = [c["name"] for c in body["items"]]
    assert names == sorted(names)


def test_countries_of_a_group_filtered_by_position_and_search(client: TestClient) -> None:
    params = {"group": "eu", "as_of": CHART_DATE, "category": "lethal_aid", "value": "no"}
    assert {c["code"] for c in client.get("/countries", params=params).json()["items"]} == {
        "AT",
        "MT",
    }
    found = client.get("/countries", params={"group": "nato", "q": "swe"}).json()
    assert [c["code"] for c in found["items"]] == ["SE"]
    found = client.get("/countries", params={"group": "nato", "q": "swe", "as_of": CHART_DATE})
    assert found.json()["items"] == []


@pytest.mark.parametrize(
    ("group", "as_of"), [("nato", CHART_DATE), ("nato", None), ("eu", "2020-01-30"), ("eu", None)]
)
def test_stats_of_a_group_add_up_to_its_member_count(
    client: TestClient, group: str, as_of: str | None
) -> None:
    dated = {} if as_of is None else {"as_of": as_of}
    stats = client.get("/stats", params={"group": group, **dated}).json()
    members = client.get(f"/groups/{group}", params=dated).json()["member_count"]
    groups = client.get("/groups", params=dated).json()["items"]
    listed = {g["key"]: g["member_count"] for g in groups}

    assert stats["group"] == group
    assert stats["countries"] == members == listed[group]
    for category in stats["categories"]:
        assert sum(category["counts"].values()) == members, category


def test_stats_of_the_eu_on_chart_date_count_austria_and_malta(client: TestClient) -> None:
    stats = client.get("/stats", params={"group": "eu", "as_of": CHART_DATE}).json()
    training = next(c for c in stats["categories"] if c["category"] == "training")
    assert training["counts"] == {"yes": 0, "no": 2, "decreasing": 0, "unknown": 25}


# --- /groups -----------------------------------------------------------------------------


def test_list_groups_counts_members_as_of_a_date(client: TestClient) -> None:
    today = client.get("/groups").json()
    assert [(g["key"], g["member_count"]) for g in today["items"]] == [("eu", 27), ("nato", 30)]
    then = client.get("/groups", params={"as_of": CHART_DATE}).json()
    assert then["as_of"] == CHART_DATE
    assert [(g["key"], g["member_count"]) for g in then["items"]] == [("eu", 27), ("nato", 28)]
    assert {g["source_id"] for g in then["items"]} == {"eu-countries", "nato-member-countries"}


def test_get_group_lists_members_with_dates_and_sources(client: TestClient) -> None:
    body = client.get("/groups/nato").json()
    finland = next(m for m in body["members"] if m["country_code"] == "FI")
    assert (finland["joined"], finland["left"], finland["source_id"]) == (
        "2023-04-04",
        None,
        "nato-member-countries",
    )
    sweden = next(m for m in body["members"] if m["country_code"] == "SE")
    assert sweden["joined"] == "2024-03-07"
    then = client.get("/groups/nato", params={"as_of": CHART_DATE}).json()
    assert {m["country_code"] for m in then["members"]} == NATO_ON_CHART_DATE
    assert then["member_count"] == 28
    assert len(then["memberships"]) == 30  # every span, whatever the date


def test_get_group_keeps_a_former_member_in_its_history(client: TestClient) -> None:
    body = client.get("/groups/eu").json()
    assert "GB" not in {m["country_code"] for m in body["members"]}
    uk = next(m for m in body["memberships"] if m["country_code"] == "GB")
    assert (uk["joined"], uk["left"], uk["source_id"]) == (
        "1973-01-01",
        "2020-01-31",
        "eu-countries",
    )


def test_every_membership_cites_a_source_that_exists(client: TestClient) -> None:
    for group in client.get("/groups").json()["items"]:
        spans = client.get(f"/groups/{group['key']}").json()["memberships"]
        for source_id in {group["source_id"], *(s["source_id"] for s in spans)}:
            assert client.get(f"/sources/{source_id}").status_code == 200, source_id


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/groups/warsaw-pact",
        "/positions?group=warsaw-pact",
        "/positions?group=warsaw-pact&format=csv",
        "/positions?group=warsaw-pact&as_of=1970-01-01",
        "/stats?group=warsaw-pact",
        "/countries?group=warsaw-pact",
        "/countries?group=warsaw-pact&category=training&value=no",
    ],
)
def test_unknown_group_is_404_problem(client: TestClient, path: str) -> None:
    body = assert_problem(client.get(path), 404, "/problems/not-found")
    assert "warsaw-pact" in body["detail"]


@pytest.mark.parametrize(
    "path", ["/positions?group=NATO", "/stats?group=", "/countries?group=nato&group=eu"]
)
def test_malformed_group_is_422_problem(client: TestClient, path: str) -> None:
    assert_problem(client.get(path), 422, "/problems/invalid-input")


# --- caches never answer a group request as if unfiltered ---------------------------------


def test_held_chart_never_answers_a_group_request_unfiltered(seeded_settings: Settings) -> None:
    """Regression guard: `/positions` is answered from memoised snapshots, the fast lane and
    the response cache. With the whole chart held in all three, a `group=` request must
    still be filtered, and its ETag must differ."""
    with TestClient(create_app(seeded_settings)) as client:
        for _ in range(3):  # route, then fast lane and response cache
            whole = client.get("/positions", params={"as_of": CHART_DATE, "limit": "500"})
            assert whole.json()["total"] == 39
        for _ in range(3):
            nato = client.get(
                "/positions", params={"as_of": CHART_DATE, "limit": "500", "group": "nato"}
            )
            assert _codes(nato.json()) == NATO_ON_CHART_DATE
            assert nato.headers["etag"] != whole.headers["etag"]
            stats = client.get("/stats", params={"as_of": CHART_DATE, "group": "nato"}).json()
            assert stats["countries"] == 28
        assert client.get("/positions", params={"as_of": CHART_DATE}).json()["total"] == 39


def test_group_request_from_memory_reads_what_a_fresh_app_reads(
    seeded_settings: Settings,
) -> None:
    uncached = seeded_settings.model_copy(update={"cache_enabled": False})
    paths = [
        f"/positions?group=nato&as_of={CHART_DATE}",
        "/positions?group=nato",
        "/positions?group=eu&as_of=2020-01-30&format=csv",
        "/positions?group=eu&as_of=2020-01-31",
        f"/stats?group=nato&as_of={CHART_DATE}",
        "/countries?group=eu",
    ]
    with TestClient(create_app(uncached)) as warm:
        warm.get("/positions?limit=500")
        for path in paths:
            first = warm.get(path)
            with TestClient(create_app(uncached)) as fresh:
                assert first.content == fresh.get(path).content, path
            assert warm.get(path).content == first.content, path


def test_a_membership_change_reaches_every_cached_answer(
    client: TestClient, seeded_settings: Settings, tmp_path: Path
) -> None:
    url = "/positions?group=nato&limit=500"
    old = client.get(url)
    assert "SE" in _codes(old.json())
    assert client.get("/groups").json()["items"][1]["member_count"] == 30

    folder = tmp_path / "seeds"
    shutil.copytree(SEEDS, folder)
    path = folder / "group_memberships.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith("nato,SE,")))
    # Rows missing from the files are kept, so end Sweden's span instead.
    path.write_text(
        path.read_text(encoding="utf-8")
        + "nato,SE,2024-03-07,2024-03-08,nato-member-countries,test edit\n",
        encoding="utf-8",
    )
    load_seed_folder(seeded_settings, folder)

    # On PostgreSQL the instance learns of the new revision by NOTIFY, a moment after the
    # commit (README: well under a second); wait for it, up to its 3.1 s silence bound.
    deadline = time.monotonic() + 3.1
    new = client.get(url, headers={"If-None-Match": old.headers["etag"]})
    while new.status_code == 304 and time.monotonic() < deadline:
        time.sleep(0.02)
        new = client.get(url, headers={"If-None-Match": old.headers["etag"]})
    assert new.status_code == 200
    assert _codes(new.json()) == _codes(old.json()) - {"SE"}
    assert client.get("/groups").json()["items"][1]["member_count"] == 29
    assert client.get("/stats?group=nato").json()["countries"] == 29
