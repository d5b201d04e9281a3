"""Dashboard-ready reads: the whole chart (/positions), counts (/stats), CSV and NDJSON."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.factories import ARTICLE, CHART, GRAD, SEEDS, load_seed_folder
from tests.problems import assert_problem

CATEGORIES = ["training", "lethal_aid", "future_capability", "future_will"]
# The seed article's three governments, reported in all four categories.
REPORTED = ["AT", "MT", "RS"]
# Delo's thirteen (future capability and will only); seven of them with capability declining.
DELO = ["BE", "BG", "DK", "EE", "HR", "IS", "LT", "LU", "LV", "PT", "RO", "SI", "SK"]
DECLINING_CAPABILITY = ["BE", "DK", "LU", "LV", "PT", "RO", "SK"]
WITH_A_VALUE = [*REPORTED, *DELO]

CSV_TYPE = "text/csv; charset=utf-8; header=present"
NDJSON_TYPE = "application/x-ndjson"
POSITIONS_HEADER = (
    "code,alpha3,name,training,lethal_aid,future_capability,future_will,"
    "disputed_training,disputed_lethal_aid,disputed_future_capability,disputed_future_will,"
    "sources_training,sources_lethal_aid,sources_future_capability,sources_future_will,"
    "unverified_training,unverified_lethal_aid,unverified_future_capability,unverified_future_will,"
    "coverage,coverage_training,coverage_lethal_aid,coverage_future_capability,"
    "coverage_future_will"
)
NOT_DISPUTED = ["false"] * 4
# The provenance columns of a country only the chart reports on (the chart and GRAD are
# unverified), and of an unreported one; Serbia's sources, sorted.
# Then the coverage columns: the country's, then each category's.
ALL_REPORTED = ",".join(["reported"] * 5)
ON_THE_CHART = ",".join(["covered_not_reported"] * 5)
NOT_ON_THE_CHART = ",".join(["not_known_covered"] * 5)
BY_CHART = f"{CHART},{CHART},{CHART},{CHART},true,true,true,true,{ALL_REPORTED}"
UNREPORTED = f",,,,false,false,false,false,{NOT_ON_THE_CHART}"
UNREPORTED_ROW = f",,,,false,false,false,false,{ON_THE_CHART}"
SERBIA = f"{CHART},{GRAD} {CHART},{CHART},{CHART},true,true,true,true,{ALL_REPORTED}"
# Belgium: Delo's two values, on the chart.
BELGIUM = (
    f"unknown,unknown,decreasing,yes,false,false,false,false,,,{CHART},{CHART},"
    "false,false,true,true,reported,covered_not_reported,covered_not_reported,reported,reported"
)
COUNTRIES_HEADER = "code,alpha3,numeric,name,official_name"
ASSESSMENTS_HEADER = (
    "id,country_code,category,value,source_id,reported_via_id,as_of,evidence,note,"
    "source_retracted_at"
)
ASSESSMENT_COLUMNS = ASSESSMENTS_HEADER.split(",")

# 20 countries outside the chart, to grow the catalogue past the default JSON page of 50.
EXTRA_COUNTRIES: tuple[str, ...] = ("US", "CA", "JP", "AU", "NZ", "BR", "AR", "MX", "IN", "CN")
EXTRA_COUNTRIES += ("KR", "ZA", "EG", "NG", "KE", "CL", "PE", "CO", "SG", "TH")


def _codes(body: dict[str, Any]) -> list[str]:
    return [item["country"]["code"] for item in body["items"]]


def _values(item: dict[str, Any]) -> dict[str, str]:
    return {p["category"]: p["value"] for p in item["positions"]}


def _item(body: dict[str, Any], code: str) -> dict[str, Any]:
    matches = [item for item in body["items"] if item["country"]["code"] == code]
    assert len(matches) == 1, code
    found: dict[str, Any] = matches[0]
    return found


def _csv_rows(response: httpx.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.text, newline="")))


def _ndjson(response: httpx.Response) -> list[Any]:
    assert response.text.endswith("\n")
    return [json.loads(line) for line in response.text.splitlines()]


def _stats(**counts: tuple[int, int, int, int]) -> list[dict[str, Any]]:
    """The `categories` of /stats from (yes, no, decreasing, unknown) per category."""
    return [
        {
            "category": key,
            "counts": dict(zip(("yes", "no", "decreasing", "unknown"), counts[key], strict=True)),
        }
        for key in CATEGORIES
    ]


# --- GET /positions --------------------------------------------------------------------


def test_positions_lists_every_country_by_name(client: TestClient) -> None:
    response = client.get("/positions")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (39, 50, 0)
    assert len(body["items"]) == 39
    names = [item["country"]["name"] for item in body["items"]]
    assert names == sorted(names)
    assert names[:3] == ["Albania", "Austria", "Belgium"]
    assert names[-1] == "United Kingdom"
    for item in body["items"]:
        assert set(item) == {"country", "as_of", "source", "positions", "coverage", "claims"}
        assert item["as_of"] is None and item["source"] is None
        assert [p["category"] for p in item["positions"]] == CATEGORIES


def test_positions_serbia_row_reads_no_yes_yes_yes(client: TestClient) -> None:
    serbia = _item(client.get("/positions").json(), "RS")
    assert serbia["country"]["name"] == "Serbia"
    assert _values(serbia) == {
        "training": "no",
        "lethal_aid": "yes",
        "future_capability": "yes",
        "future_will": "yes",
    }
    assert serbia["positions"][1]["source_ids"] == [CHART, GRAD]
    # The chart row is exactly the per-country view.
    assert serbia == client.get("/countries/RS/positions").json()


def test_positions_unreported_country_reads_unknown_in_all_four(client: TestClient) -> None:
    germany = _item(client.get("/positions").json(), "DE")
    assert _values(germany) == dict.fromkeys(CATEGORIES, "unknown")
    assert all(p["source_ids"] == [] for p in germany["positions"])


def test_positions_filtered_by_category_and_value(client: TestClient) -> None:
    def codes(category: str, value: str) -> list[str]:
        body = client.get("/positions", params={"category": category, "value": value}).json()
        assert body["total"] == len(body["items"])
        return _codes(body)

    assert codes("training", "no") == REPORTED
    assert codes("lethal_aid", "yes") == ["RS"]
    assert codes("lethal_aid", "no") == ["AT", "MT"]
    assert codes("future_will", "decreasing") == ["BG", "SI"]
    assert sorted(codes("future_capability", "decreasing")) == DECLINING_CAPABILITY
    assert len(codes("training", "unknown")) == 36


def test_positions_reported_true_keeps_countries_with_a_value(client: TestClient) -> None:
    body = client.get("/positions", params={"reported": "true"}).json()
    assert body["total"] == 16
    assert sorted(_codes(body)) == sorted(WITH_A_VALUE)


def test_positions_reported_false_keeps_the_unreported(client: TestClient) -> None:
    body = client.get("/positions", params={"reported": "false"}).json()
    assert body["total"] == 39 - 16
    assert len(body["items"]) == 39 - 16
    assert not set(_codes(body)) & set(WITH_A_VALUE)
    assert all(_values(item) == dict.fromkeys(CATEGORIES, "unknown") for item in body["items"])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # Alone, each has a documented meaning: every schema-valid request is answered.
        ({"category": "training"}, ["AT", "MT", "RS"]),
        ({"value": "yes"}, sorted(set(DELO) | {"RS"})),
        ({"value": "no"}, ["AT", "EE", "IS", "LT", "MT", "RS"]),
        ({"value": "decreasing"}, sorted({*DECLINING_CAPABILITY, "BG", "SI"})),
        ({"category": "lethal_aid", "value": "yes"}, ["RS"]),
        ({"category": "training", "value": "unknown", "reported": "true"}, DELO),
    ],
)
def test_positions_category_and_value_each_filter_alone(
    client: TestClient, params: dict[str, str], expected: list[str]
) -> None:
    body = client.get("/positions", params=params).json()
    assert sorted(_codes(body)) == expected
    assert body["total"] == len(expected)


def test_positions_value_unknown_alone_keeps_countries_with_a_gap(client: TestClient) -> None:
    body = client.get("/positions", params={"value": "unknown", "limit": 100}).json()
    assert body["total"] == 36
    assert not set(_codes(body)) & set(REPORTED)


def test_positions_unknown_category_or_value_is_422(client: TestClient) -> None:
    for params in (
        {"category": "morale", "value": "no"},
        {"category": "training", "value": "maybe"},
        {"reported": "perhaps"},
    ):
        body = assert_problem(client.get("/positions", params=params), 422)
        assert body["errors"], params


def test_positions_as_of_before_the_chart_keeps_only_earlier_assessments(
    client: TestClient,
) -> None:
    body = client.get("/positions", params={"as_of": "2023-01-01"}).json()
    assert body["total"] == 39
    assert all(item["as_of"] == "2023-01-01" for item in body["items"])
    serbia = _item(body, "RS")
    assert _values(serbia) == {
        "training": "unknown",
        "lethal_aid": "yes",
        "future_capability": "unknown",
        "future_will": "unknown",
    }
    assert serbia["positions"][1]["source_ids"] == [GRAD]
    assert serbia["positions"][1]["as_of"] == "2022-11-30"
    assert _values(_item(body, "AT")) == dict.fromkeys(CATEGORIES, "unknown")
    reported = client.get("/positions", params={"as_of": "2023-01-01", "reported": "true"})
    assert _codes(reported.json()) == ["RS"]


def test_positions_as_of_matches_the_per_country_view(client: TestClient) -> None:
    params = {"as_of": "2023-01-01"}
    serbia = _item(client.get("/positions", params=params).json(), "RS")
    assert serbia == client.get("/countries/RS/positions", params=params).json()


def test_positions_restricted_to_one_source(client: TestClient) -> None:
    body = client.get("/positions", params={"source": GRAD}).json()
    assert body["total"] == 39
    assert all(item["source"] == GRAD for item in body["items"])
    serbia = _item(body, "RS")
    assert _values(serbia) == {
        "training": "unknown",
        "lethal_aid": "yes",
        "future_capability": "unknown",
        "future_will": "unknown",
    }
    assert serbia == client.get("/countries/RS/positions", params={"source": GRAD}).json()
    assert _values(_item(body, "AT")) == dict.fromkeys(CATEGORIES, "unknown")
    reported = client.get("/positions", params={"source": GRAD, "reported": "true"})
    assert _codes(reported.json()) == ["RS"]


def test_positions_unknown_source_is_404(client: TestClient) -> None:
    body = assert_problem(
        client.get("/positions", params={"source": "no-such-source"}), 404, "/problems/not-found"
    )
    assert "no-such-source" in body["detail"]


def test_positions_malformed_as_of_or_source_is_422(client: TestClient) -> None:
    for params in ({"as_of": "2023-02-30"}, {"as_of": "yesterday"}, {"source": "Bad Source!"}):
        body = assert_problem(client.get("/positions", params=params), 422)
        assert body["errors"], params


def test_positions_paginates_with_limit_and_offset(client: TestClient) -> None:
    page = client.get("/positions", params={"limit": 2, "offset": 2}).json()
    assert (page["total"], page["limit"], page["offset"]) == (39, 2, 2)
    assert _codes(page) == ["BE", "BA"]
    assert _codes(client.get("/positions", params={"limit": 5, "offset": 38}).json()) == ["GB"]
    beyond = client.get("/positions", params={"offset": 39}).json()
    assert (beyond["items"], beyond["total"]) == ([], 39)


def test_positions_pagination_applies_after_the_filter(client: TestClient) -> None:
    page = client.get(
        "/positions", params={"category": "training", "value": "no", "limit": 1, "offset": 1}
    ).json()
    assert (page["total"], _codes(page)) == (3, ["MT"])


def test_positions_bad_paging_is_422(client: TestClient) -> None:
    for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "ten"}):
        assert_problem(client.get("/positions", params=params), 422)


# --- GET /stats ------------------------------------------------------------------------


def test_stats_counts_countries_per_value(client: TestClient) -> None:
    response = client.get("/stats")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "as_of": None,
        "source": None,
        "group": None,
        "countries": 39,
        "coverage": {"reported": 16, "covered_not_reported": 3, "not_known_covered": 20},
        "categories": _stats(
            training=(0, 3, 0, 36),
            lethal_aid=(1, 2, 0, 36),
            future_capability=(3, 5, 7, 24),
            future_will=(12, 2, 2, 23),
        ),
    }


def test_stats_counts_add_up_to_the_catalogue(client: TestClient) -> None:
    for params in ({}, {"as_of": "2023-01-01"}, {"as_of": "1990-01-01"}, {"source": GRAD}):
        body = client.get("/stats", params=params).json()
        assert body["countries"] == 39, params
        for category in body["categories"]:
            assert sum(category["counts"].values()) == 39, (params, category)


def test_stats_as_of_before_the_chart_counts_only_the_grad_documents(
    client: TestClient,
) -> None:
    assert client.get("/stats", params={"as_of": "2023-01-01"}).json() == {
        "as_of": "2023-01-01",
        "source": None,
        "group": None,
        "countries": 39,
        # Serbia, by the Grad documents alone; the chart's other rows are known, unreported.
        "coverage": {"reported": 1, "covered_not_reported": 18, "not_known_covered": 20},
        "categories": _stats(
            training=(0, 0, 0, 39),
            lethal_aid=(1, 0, 0, 38),
            future_capability=(0, 0, 0, 39),
            future_will=(0, 0, 0, 39),
        ),
    }


def test_stats_restricted_to_one_source(client: TestClient) -> None:
    assert client.get("/stats", params={"source": GRAD}).json() == {
        "as_of": None,
        "source": GRAD,
        "group": None,
        "countries": 39,
        # Coverage is the Grad documents' own: they list no governments.
        "coverage": {"reported": 1, "covered_not_reported": 0, "not_known_covered": 38},
        "categories": _stats(
            training=(0, 0, 0, 39),
            lethal_aid=(1, 0, 0, 38),
            future_capability=(0, 0, 0, 39),
            future_will=(0, 0, 0, 39),
        ),
    }
    chart_only = client.get("/stats", params={"source": CHART}).json()
    assert chart_only["categories"] == client.get("/stats").json()["categories"]


def test_stats_agree_with_the_positions_filter(client: TestClient) -> None:
    for category in client.get("/stats").json()["categories"]:
        for value, count in category["counts"].items():
            params = {"category": category["category"], "value": value, "limit": 1}
            assert client.get("/positions", params=params).json()["total"] == count, params


def test_stats_unknown_source_is_404(client: TestClient) -> None:
    assert_problem(client.get("/stats", params={"source": "no-such-source"}), 404)


def test_stats_malformed_as_of_is_422(client: TestClient) -> None:
    assert_problem(client.get("/stats", params={"as_of": "2023-13-01"}), 422)


def test_stats_on_empty_database_are_all_zero(empty_client: TestClient) -> None:
    body = empty_client.get("/stats").json()
    assert body["countries"] == 0
    assert body["categories"] == _stats(**dict.fromkeys(CATEGORIES, (0, 0, 0, 0)))


# --- CSV -------------------------------------------------------------------------------


def test_positions_csv_by_format_parameter(client: TestClient) -> None:
    response = client.get("/positions", params={"format": "csv", "limit": 3})
    assert response.status_code == 200
    assert response.headers["content-type"] == CSV_TYPE
    assert response.headers["content-disposition"] == 'inline; filename="positions.csv"'
    assert response.text == (
        f"{POSITIONS_HEADER}\r\n"
        "AL,ALB,Albania,unknown,unknown,unknown,unknown,false,false,false,false,"
        f"{UNREPORTED_ROW}\r\n"
        f"AT,AUT,Austria,no,no,no,no,false,false,false,false,{BY_CHART}\r\n"
        f"BE,BEL,Belgium,{BELGIUM}\r\n"
    )


def test_positions_csv_by_accept_header_matches_format_parameter(client: TestClient) -> None:
    by_accept = client.get("/positions", headers={"Accept": "text/csv"})
    by_format = client.get("/positions", params={"format": "csv"})
    assert by_accept.status_code == by_format.status_code == 200
    assert by_accept.headers["content-type"] == by_format.headers["content-type"] == CSV_TYPE
    assert by_accept.text == by_format.text


def test_positions_csv_exports_every_country(client: TestClient) -> None:
    response = client.get("/positions", params={"format": "csv"})
    assert response.headers["content-type"] == CSV_TYPE
    text = response.text
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")
    assert lines[0] == POSITIONS_HEADER
    assert f"RS,SRB,Serbia,no,yes,yes,yes,false,false,false,false,{SERBIA}\r\n" in text
    assert f"MT,MLT,Malta,no,no,no,no,false,false,false,false,{BY_CHART}\r\n" in text
    assert (
        "TR,TUR,Türkiye,unknown,unknown,unknown,unknown,false,false,false,false,"
        f"{UNREPORTED_ROW}\r\n" in text
    )
    rows = _csv_rows(response)
    assert rows[0] == POSITIONS_HEADER.split(",")
    data = rows[1:]
    assert len(data) == 39
    by_code = {row[0]: row for row in data}
    assert by_code["RS"] == [
        "RS",
        "SRB",
        "Serbia",
        "no",
        "yes",
        "yes",
        "yes",
        *NOT_DISPUTED,
        *SERBIA.split(","),
    ]
    assert by_code["AT"] == [
        "AT",
        "AUT",
        "Austria",
        "no",
        "no",
        "no",
        "no",
        *NOT_DISPUTED,
        *BY_CHART.split(","),
    ]
    assert [row[2] for row in data] == [
        item["country"]["name"] for item in client.get("/positions").json()["items"]
    ]


def test_positions_csv_is_utf8(client: TestClient) -> None:
    response = client.get("/positions", params={"format": "csv", "limit": 1, "offset": 37})
    assert (
        response.content
        == (
            f"{POSITIONS_HEADER}\r\nTR,TUR,Türkiye,unknown,unknown,unknown,unknown,"
            f"false,false,false,false,{UNREPORTED_ROW}\r\n"
        ).encode()
    )


def test_positions_csv_honours_filters(client: TestClient) -> None:
    response = client.get(
        "/positions", params={"format": "csv", "category": "training", "value": "no"}
    )
    assert response.text == (
        f"{POSITIONS_HEADER}\r\n"
        f"AT,AUT,Austria,no,no,no,no,false,false,false,false,{BY_CHART}\r\n"
        f"MT,MLT,Malta,no,no,no,no,false,false,false,false,{BY_CHART}\r\n"
        f"RS,SRB,Serbia,no,yes,yes,yes,false,false,false,false,{SERBIA}\r\n"
    )
    before = client.get("/positions", params={"format": "csv", "as_of": "2023-01-01"})
    assert (
        f"RS,SRB,Serbia,unknown,yes,unknown,unknown,false,false,false,false,,{GRAD},,,"
        "false,true,false,false,reported,covered_not_reported,reported,covered_not_reported,"
        "covered_not_reported\r\n"
    ) in before.text


def test_positions_csv_honours_limit_and_offset(client: TestClient) -> None:
    response = client.get("/positions", params={"format": "csv", "limit": 2, "offset": 31})
    assert response.text == (
        f"{POSITIONS_HEADER}\r\n"
        f"RS,SRB,Serbia,no,yes,yes,yes,false,false,false,false,{SERBIA}\r\n"
        f"SK,SVK,Slovakia,{BELGIUM}\r\n"
    )


def test_positions_csv_of_no_rows_is_the_header_alone(client: TestClient) -> None:
    response = client.get(
        "/positions", params={"format": "csv", "category": "training", "value": "decreasing"}
    )
    assert response.status_code == 200
    assert response.text == f"{POSITIONS_HEADER}\r\n"


def test_positions_csv_unknown_source_is_404_problem(client: TestClient) -> None:
    assert_problem(client.get("/positions", params={"format": "csv", "source": "nope"}), 404)


def test_countries_csv(client: TestClient) -> None:
    response = client.get("/countries", params={"format": "csv", "limit": 3})
    assert response.status_code == 200
    assert response.headers["content-type"] == CSV_TYPE
    assert response.headers["content-disposition"] == 'inline; filename="countries.csv"'
    assert response.text == (
        f"{COUNTRIES_HEADER}\r\n"
        "AL,ALB,008,Albania,Republic of Albania\r\n"
        "AT,AUT,040,Austria,Republic of Austria\r\n"
        "BE,BEL,056,Belgium,Kingdom of Belgium\r\n"
    )


def test_countries_csv_exports_every_country(client: TestClient) -> None:
    response = client.get("/countries", headers={"Accept": "text/csv"})
    assert response.headers["content-type"] == CSV_TYPE
    assert response.text.startswith(f"{COUNTRIES_HEADER}\r\n")
    assert "TR,TUR,792,Türkiye,Republic of Türkiye\r\n" in response.text
    assert "RO,ROU,642,Romania,\r\n" in response.text
    rows = _csv_rows(response)
    assert len(rows) == 40
    json_items = client.get("/countries", params={"limit": 500}).json()["items"]
    columns = COUNTRIES_HEADER.split(",")
    assert rows[1:] == [["" if c[k] is None else c[k] for k in columns] for c in json_items]
    assert "XK,XKX,,Kosovo,\r\n" in response.text


def test_countries_csv_honours_search_and_position_filter(client: TestClient) -> None:
    searched = client.get("/countries", params={"format": "csv", "q": "serb"})
    assert searched.text == f"{COUNTRIES_HEADER}\r\nRS,SRB,688,Serbia,Republic of Serbia\r\n"
    filtered = client.get(
        "/countries", params={"format": "csv", "category": "lethal_aid", "value": "no"}
    )
    assert filtered.text == (
        f"{COUNTRIES_HEADER}\r\n"
        "AT,AUT,040,Austria,Republic of Austria\r\n"
        "MT,MLT,470,Malta,Republic of Malta\r\n"
    )


def test_assessments_csv_of_serbia_newest_first(client: TestClient) -> None:
    response = client.get("/countries/RS/assessments", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"] == CSV_TYPE
    assert response.headers["content-disposition"] == 'inline; filename="assessments-RS.csv"'
    assert response.text.startswith(f"{ASSESSMENTS_HEADER}\r\n")
    assert response.text.endswith("\r\n")
    rows = _csv_rows(response)
    assert rows[0] == ASSESSMENT_COLUMNS
    assert len(rows) == 6
    items = client.get("/countries/RS/assessments").json()["items"]
    assert rows[1:] == [
        ["" if item[c] is None else str(item[c]) for c in ASSESSMENT_COLUMNS] for item in items
    ]
    assert [row[6] for row in rows[1:]] == ["2023-03-02"] * 4 + ["2022-11-30"]
    assert [row[2] for row in rows[1:]] == [
        "future_will",
        "future_capability",
        "lethal_aid",
        "training",
        "lethal_aid",
    ]
    assert rows[-1][4] == GRAD and rows[-1][5] == ARTICLE


def test_assessments_csv_quotes_fields_with_commas_and_quotes(client: TestClient) -> None:
    grad = client.get("/countries/RS/assessments").json()["items"][-1]
    assert grad["source_id"] == GRAD
    assert "," in grad["evidence"] and '"' in grad["note"]
    response = client.get("/countries/RS/assessments", params={"format": "csv"})
    last_line = response.text.split("\r\n")[-2]
    assert last_line == (
        f"{grad['id']},RS,lethal_aid,yes,{GRAD},{ARTICLE},2022-11-30,"
        '"Documents posted on Telegram allegedly show that a Serbian arms manufacturer sent '
        "122mm Grad multiple rocket launchers to Kyiv, with a bill of lading and a Ukrainian "
        "government end-user certificate. The article offers them as evidence about Serbia's "
        "lethal aid; they concern a manufacturer's shipment, not an act of the Serbian "
        'government.",'
        '"A manufacturer, not a government: not a second government-level source for '
        'Serbia\'s lethal aid, and unverified. The article dates the shipment to ""November '
        'this year"" without giving its own date, so the year is ambiguous; as_of takes the '
        "end of November 2022, the reading under which the shipment precedes the 2 March "
        '2023 chart.",'
    )
    parsed = _csv_rows(response)[-1]
    assert parsed[7] == grad["evidence"]
    assert parsed[8] == grad["note"]


def test_assessments_csv_honours_limit_and_offset(client: TestClient) -> None:
    items = client.get("/countries/RS/assessments").json()["items"]
    response = client.get(
        "/countries/RS/assessments", params={"format": "csv", "limit": 2, "offset": 1}
    )
    rows = _csv_rows(response)
    assert [row[0] for row in rows[1:]] == [str(items[1]["id"]), str(items[2]["id"])]


def test_assessments_csv_of_unreported_country_is_the_header_alone(client: TestClient) -> None:
    response = client.get("/countries/DE/assessments", params={"format": "csv"})
    assert response.status_code == 200
    assert response.text == f"{ASSESSMENTS_HEADER}\r\n"


def test_assessments_csv_of_unknown_country_is_404_problem(client: TestClient) -> None:
    response = client.get("/countries/ZZ/assessments", headers={"Accept": "text/csv"})
    assert_problem(response, 404, "/problems/not-found")


# --- NDJSON ----------------------------------------------------------------------------


def test_positions_ndjson_is_one_item_per_line(client: TestClient) -> None:
    response = client.get("/positions", headers={"Accept": NDJSON_TYPE})
    assert response.status_code == 200
    assert response.headers["content-type"] == NDJSON_TYPE
    lines = _ndjson(response)
    assert len(lines) == 39
    assert lines == client.get("/positions").json()["items"]


def test_positions_ndjson_by_format_parameter_matches_accept(client: TestClient) -> None:
    by_format = client.get("/positions", params={"format": "ndjson"})
    assert by_format.headers["content-type"] == NDJSON_TYPE
    assert by_format.text == client.get("/positions", headers={"Accept": NDJSON_TYPE}).text


def test_positions_ndjson_honours_filters_and_limit(client: TestClient) -> None:
    params: dict[str, str | int] = {"category": "training", "value": "no"}
    filtered = client.get("/positions", params=params, headers={"Accept": NDJSON_TYPE})
    assert [line["country"]["code"] for line in _ndjson(filtered)] == REPORTED
    limited = client.get(
        "/positions", params={**params, "limit": 1, "offset": 2}, headers={"Accept": NDJSON_TYPE}
    )
    assert (
        _ndjson(limited) == client.get("/positions", params={**params, "offset": 2}).json()["items"]
    )
    dated = client.get(
        "/positions", params={"as_of": "2023-01-01"}, headers={"Accept": NDJSON_TYPE}
    )
    assert {line["as_of"] for line in _ndjson(dated)} == {"2023-01-01"}


def test_assessments_ndjson_is_one_item_per_line(client: TestClient) -> None:
    response = client.get("/countries/RS/assessments", headers={"Accept": NDJSON_TYPE})
    assert response.status_code == 200
    assert response.headers["content-type"] == NDJSON_TYPE
    lines = _ndjson(response)
    assert len(lines) == 5
    assert lines == client.get("/countries/RS/assessments").json()["items"]


def test_assessments_ndjson_of_unknown_country_is_404_problem(client: TestClient) -> None:
    response = client.get("/countries/ZZ/assessments", headers={"Accept": NDJSON_TYPE})
    assert_problem(response, 404)


def test_ndjson_of_no_rows_is_empty(client: TestClient) -> None:
    response = client.get("/countries/DE/assessments", params={"format": "ndjson"})
    assert response.status_code == 200
    assert response.headers["content-type"] == NDJSON_TYPE
    assert response.content == b""


# --- Exports beyond the JSON page size -------------------------------------------------


@pytest.fixture
def large_client(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    """The seeds plus 20 countries outside the chart: 59 countries, more than a JSON page."""
    folder = tmp_path / "seeds"
    shutil.copytree(SEEDS, folder)
    with (folder / "countries.csv").open("a", encoding="utf-8") as file:
        file.writelines(f"{code},,,\n" for code in EXTRA_COUNTRIES)
    load_seed_folder(settings, folder)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_exports_return_every_row_when_no_limit_is_given(large_client: TestClient) -> None:
    page = large_client.get("/positions").json()
    assert (page["total"], page["limit"], len(page["items"])) == (59, 50, 50)
    assert len(_csv_rows(large_client.get("/positions", params={"format": "csv"}))) == 60
    assert len(_ndjson(large_client.get("/positions", params={"format": "ndjson"}))) == 59
    assert len(large_client.get("/countries").json()["items"]) == 50
    assert len(_csv_rows(large_client.get("/countries", params={"format": "csv"}))) == 60


def test_exports_honour_limit_when_given(large_client: TestClient) -> None:
    for path, fmt in (("/positions", "csv"), ("/countries", "csv")):
        rows = _csv_rows(large_client.get(path, params={"format": fmt, "limit": 55}))
        assert len(rows) == 56, path
    lines = _ndjson(large_client.get("/positions", params={"format": "ndjson", "limit": 7}))
    assert len(lines) == 7
