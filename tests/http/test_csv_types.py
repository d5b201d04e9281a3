"""The CSV exports as pandas and DuckDB read them (issue 12): the `disputed_` and
`unverified_` booleans come out as booleans unaided; with the types of the CSVW document each
CSV links, every column comes out as documented and the rows equal the JSON of the same
request.

Unaided, both readers guess from the text (quoted or not): pandas makes `008` the number 8,
DuckDB makes a column of only `yes`/`no` BOOLEAN. Those guesses are the readers' own, so
the tests below read the text columns with the document's types, as the README tells users
to, and prove that the document says what the CSV holds.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import duckdb
import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.vocabulary import CategoryKey, KeyScope
from tests.factories import ARTICLE, CHART, GRAD, bearer, make_key

CSVW_TYPE = "application/csvm+json"
# pandas 3 names its text dtype `str`; an all-empty text column stays `object`.
PANDAS_DTYPES = {"str": {"str", "object"}, "bool": {"bool"}, "int64": {"int64"}}
RETRACTION = {"retracted_at", "retraction_note"}
# The provenance the assessments JSON adds: the long export (/exports/assessments.csv)
# carries the chain as `relay_chain` and the language; the per-country CSV does not.
PROVENANCE = {"relayed_through", "relay_chain", "evidence_language", "evidence_translated"}
DISPUTED = [f"disputed_{key.value}" for key in CategoryKey]
UNVERIFIED = [f"unverified_{key.value}" for key in CategoryKey]
SOURCES = [f"sources_{key.value}" for key in CategoryKey]
# The verification statuses the `unverified_` columns flag (app.assessments.csv_tables).
NOT_ESTABLISHED = {"unverified", "disputed"}
# A filter whose page holds one value only: unaided, DuckDB reads that column as BOOLEAN.
EXPORTS = (
    "/countries",
    "/positions",
    "/positions?category=training&value=no",
    "/countries/RS/assessments",
    "/stats",
)


@pytest.fixture
def disputed_client(seeded_settings: Settings) -> Iterator[TestClient]:
    """The seeded app, plus a second source that contradicts the chart on Serbia's
    lethal aid, so that one `disputed_` flag is true."""
    with TestClient(create_app(seeded_settings)) as client:
        created = client.post(
            "/assessments",
            headers=bearer(make_key(seeded_settings, "csv-types", KeyScope.write)),
            json={
                "country": "RS",
                "category": "lethal_aid",
                "value": "no",
                "source": ARTICLE,
                "as_of": "2023-03-02",
                "evidence": "A test assessment that contradicts the chart.",
            },
        )
        assert created.status_code == 201, created.text
        yield client


def _csv(client: TestClient, url: str) -> httpx.Response:
    response: httpx.Response = client.get(f"{url}{'&' if '?' in url else '?'}format=csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return response


def _metadata_url(response: httpx.Response) -> str:
    """The target of the response's `rel="describedby"` link, resolved against its URL."""
    found = re.findall(r'<([^>]*)>; rel="describedby"; type="([^"]*)"', response.headers["link"])
    assert len(found) == 1, response.headers["link"]
    target, media_type = found[0]
    assert media_type == CSVW_TYPE
    return urljoin(str(response.url), str(target))


def _metadata(client: TestClient, response: httpx.Response) -> dict[str, Any]:
    document = client.get(_metadata_url(response))
    assert document.status_code == 200, document.text
    assert document.headers["content-type"] == CSVW_TYPE
    body: dict[str, Any] = document.json()
    return body


def _hints(document: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Every column's type as pandas (`dtype=`) and DuckDB (`dtype=`) name it, from the CSVW
    document: what the readers produce when told, checked column by column below."""
    pandas_types = {"string": "str", "boolean": "bool", "integer": "int64", "date": "str"}
    duckdb_types = {"string": "VARCHAR", "boolean": "BOOLEAN", "integer": "BIGINT", "date": "DATE"}
    columns = document["tableSchema"]["columns"]
    return (
        {c["name"]: pandas_types[c["datatype"]["base"]] for c in columns},
        {c["name"]: duckdb_types[c["datatype"]["base"]] for c in columns},
    )


def _readme_recipe() -> str:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### CSV columns and their types", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def _duckdb(response: httpx.Response, tmp_path: Path, **options: Any) -> pd.DataFrame:
    path = tmp_path / "export.csv"
    path.write_bytes(response.content)
    relation = duckdb.read_csv(str(path), **options)  # `dtype=` is SQL's `types`
    types = dict(zip(relation.columns, map(str, relation.types), strict=True))
    frame: pd.DataFrame = relation.df()
    frame.attrs["duckdb_types"] = types
    return frame


def _pandas(response: httpx.Response, **options: Any) -> pd.DataFrame:
    frame: pd.DataFrame = pd.read_csv(io.BytesIO(response.content), **options)
    return frame


def _json_rows(client: TestClient, url: str) -> list[dict[str, Any]]:
    """What the JSON of the same request says, one flat dict per CSV row."""
    paged = url if url == "/stats" else f"{url}{'&' if '?' in url else '?'}limit=500"
    body = client.get(paged).json()
    rows: list[dict[str, Any]] = []
    if "categories" in body:  # /stats: one row per category, one count per value
        return [{"category": c["category"], **c["counts"]} for c in body["categories"]]
    for item in body["items"]:
        if "positions" in item:
            row = {k: item["country"][k] for k in ("code", "alpha3", "name")}
            for position in item["positions"]:
                row[position["category"]] = position["value"]
                row[f"disputed_{position['category']}"] = position["disputed"]
                row[f"sources_{position['category']}"] = (
                    " ".join(sorted(position["source_ids"])) or None
                )
                row[f"unverified_{position['category']}"] = any(
                    s["verification_status"] in NOT_ESTABLISHED for s in position["sources"]
                )
                row[f"coverage_{position['category']}"] = position["coverage"]
            row["coverage"] = item["coverage"]
            rows.append(row)
        else:
            rows.append(item)
    return rows


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain Python values: missing is None, a date its ISO text."""
    records = []
    for record in frame.astype(object).to_dict("records"):
        records.append(
            {
                str(k): None if v is None or v is pd.NaT or v != v else _plain(v)
                for k, v in record.items()
            }
        )
    return records


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    if hasattr(value, "item"):
        return value.item()
    return value


@pytest.mark.parametrize("url", EXPORTS)
def test_each_csv_links_a_csvw_document_that_describes_it(client: TestClient, url: str) -> None:
    response = _csv(client, url)
    document = _metadata(client, response)
    assert document["@context"] == "http://www.w3.org/ns/csvw"
    assert document["dialect"]["header"] is True
    # `url` is relative to the document: the export it sits beside.
    described = client.get(urljoin(_metadata_url(response), document["url"]))
    assert described.status_code == 200, described.url
    assert described.headers["link"] == response.headers["link"].split(", ")[-1]
    columns = document["tableSchema"]["columns"]
    header, *rows = csv.reader(io.StringIO(response.text, newline=""))
    assert [c["name"] for c in columns] == header
    assert all(c["titles"] == c["name"] and c["dc:description"] for c in columns)
    assert rows
    for index, column in enumerate(columns):
        assert column["datatype"]["base"] in ("string", "integer", "boolean", "date")
        pattern = column["datatype"].get("format")
        for value in (row[index] for row in rows):
            if value == "":
                assert not column["required"], column["name"]
            elif pattern is not None:
                assert re.fullmatch(pattern, value), (column["name"], value)


def test_the_link_header_is_the_same_for_every_page_of_an_export(client: TestClient) -> None:
    whole = _csv(client, "/positions")
    page = _csv(client, "/positions?limit=5&offset=5")
    assert _metadata_url(whole) == _metadata_url(page)
    assert 'rel="next"' in page.headers["link"]  # pagination links are kept beside it
    assert _metadata_url(_csv(client, "/countries/RS/assessments")).endswith(
        "/exports/countries/RS/assessments.csv-metadata.json"
    )


def test_the_link_header_survives_the_cache_and_the_document_is_cacheable(
    client: TestClient,
) -> None:
    first, again = _csv(client, "/positions"), _csv(client, "/positions")
    assert first.headers["etag"] == again.headers["etag"]
    assert first.headers["link"] == again.headers["link"]
    document = client.get(_metadata_url(first))
    assert document.headers["etag"]
    revalidated = client.get(
        _metadata_url(first), headers={"If-None-Match": document.headers["etag"]}
    )
    assert revalidated.status_code == 304


def test_metadata_of_an_unknown_country_is_404(client: TestClient) -> None:
    response = client.get("/exports/countries/ZZ/assessments.csv-metadata.json")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_unaided_readers_read_disputed_and_unverified_flags_as_booleans(
    disputed_client: TestClient, tmp_path: Path
) -> None:
    response = _csv(disputed_client, "/positions")
    frame = _pandas(response)
    types = _duckdb(response, tmp_path).attrs["duckdb_types"]
    for column in DISPUTED + UNVERIFIED:
        assert frame[column].dtype == bool, column
        assert types[column] == "BOOLEAN", column
    for column in SOURCES:
        assert frame[column].dtype == object or str(frame[column].dtype) == "str", column
        assert types[column] == "VARCHAR", column
    serbia = frame[frame["code"] == "RS"].iloc[0]
    assert serbia["disputed_lethal_aid"] and not serbia["disputed_training"]
    assert frame["disputed_lethal_aid"].sum() == 1
    for column in ("code", "alpha3", "name"):
        assert frame[column].dtype == object or str(frame[column].dtype) == "str", column
        assert types[column] == "VARCHAR", column


def test_unaided_readers_read_ids_as_integers_and_as_of_as_stated(
    client: TestClient, tmp_path: Path
) -> None:
    response = _csv(client, "/countries/RS/assessments")
    frame = _pandas(response)
    types = _duckdb(response, tmp_path).attrs["duckdb_types"]
    assert frame["id"].dtype == "int64" and types["id"] == "BIGINT"
    # as_of: DuckDB makes it a DATE, pandas keeps the ISO text (parse_dates makes it a date).
    assert types["as_of"] == "DATE"
    assert str(frame["as_of"].dtype) in ("str", "object")
    assert set(frame["as_of"]) <= {"2022-11-30", "2023-03-02"}


@pytest.mark.parametrize("url", EXPORTS)
def test_readers_given_the_documents_types_read_what_the_json_says(
    disputed_client: TestClient, url: str, tmp_path: Path
) -> None:
    response = _csv(disputed_client, url)
    dtype, types = _hints(_metadata(disputed_client, response))
    frame = _pandas(response, dtype=dtype, keep_default_na=False, na_values=[""])
    ducks = _duckdb(response, tmp_path, dtype=types)
    header = list(frame.columns)
    json_rows = _json_rows(disputed_client, url)
    # The assessments JSON also says whether each was retracted, and its relay chain; the
    # per-country CSV leaves those out.
    assert {k for row in json_rows for k in row} - set(header) <= RETRACTION | PROVENANCE
    expected = [{k: row[k] for k in header} for row in json_rows]
    assert _records(frame) == expected
    assert _records(ducks) == expected
    for column, wanted in dtype.items():
        assert str(frame[column].dtype) in PANDAS_DTYPES[wanted], column
    assert ducks.attrs["duckdb_types"] == types


def test_leading_zeros_of_numeric_codes_survive_both_readers(
    client: TestClient, tmp_path: Path
) -> None:
    response = _csv(client, "/countries")
    dtype, types = _hints(_metadata(client, response))
    frame = _pandas(response, dtype=dtype, keep_default_na=False, na_values=[""])
    ducks = _duckdb(response, tmp_path, dtype=types)
    for table in (frame, ducks):
        numeric = dict(zip(table["code"], table["numeric"], strict=True))
        assert (numeric["AL"], numeric["AT"], numeric["RS"]) == ("008", "040", "688")
        assert numeric["XK"] is None or numeric["XK"] != numeric["XK"]  # user-assigned: none


def test_the_readme_recipe_reads_codes_and_values_as_text(
    client: TestClient, tmp_path: Path
) -> None:
    """The README's lines, run as written: text columns stay text, in both readers."""
    recipe = _readme_recipe()
    for url, column, expected in (
        ("/countries", "numeric", "008"),
        ("/positions?category=training&value=no", "training", "no"),
        ("/countries/RS/assessments", "value", "yes"),
    ):
        response = _csv(client, url)
        path = tmp_path / "export.csv"
        path.write_bytes(response.content)
        lines = recipe.strip().splitlines()
        namespace: dict[str, Any] = {
            "httpx": client,
            "metadata_url": _metadata_url(response),
            "csv_url": str(path),
            "pandas": pd,
            "duckdb": duckdb,
        }
        exec("\n".join(lines[:2]), namespace)
        frame = eval(lines[2], namespace)
        relation = eval(lines[3], namespace)
        types = dict(zip(relation.columns, map(str, relation.types), strict=True))
        assert frame[column].iloc[0] == expected, url
        assert relation.df()[column].iloc[0] == expected, url
        assert types[column] == "VARCHAR", url


@pytest.fixture
def statement_client(seeded_settings: Settings) -> Iterator[tuple[TestClient, str]]:
    """The seeded app plus an official statement (`not_applicable`: nothing to verify) that
    alone reports Türkiye's training, and the admin key that wrote it."""
    admin = make_key(seeded_settings, "csv-provenance", KeyScope.admin)
    with TestClient(create_app(seeded_settings)) as client:
        source = client.post("/sources", json=STATEMENT_SOURCE, headers=bearer(admin))
        assert source.status_code == 201, source.text
        created = client.post(
            "/assessments",
            headers=bearer(admin),
            json={
                "country": "TR",
                "category": "training",
                "value": "yes",
                "source": STATEMENT,
                "as_of": "2023-04-20",
                "evidence": "A test statement that Türkiye trains Ukrainian troops.",
            },
        )
        assert created.status_code == 201, created.text
        yield client, admin


STATEMENT = "turkiye-statement-2023-04"
STATEMENT_SOURCE: dict[str, Any] = {
    "id": STATEMENT,
    "title": "A test statement of the government of Türkiye",
    "kind": "official_statement",
    "publisher": "Government of Türkiye",
    "url": "https://example.org/statement",
    "published_on": "2023-04-20",
    "verification_status": "not_applicable",
}


def _row(client: TestClient, code: str) -> dict[str, str]:
    rows = csv.DictReader(io.StringIO(_csv(client, "/positions").text, newline=""))
    return next(row for row in rows if row["code"] == code)


def test_positions_csv_names_the_sources_and_flags_unverified_ones(
    statement_client: tuple[TestClient, str],
) -> None:
    """`sources_` lists the ids behind each value, sorted; `unverified_` is true when one
    of them is `unverified` or `disputed`, not for `verified` or `not_applicable`."""
    client, admin = statement_client
    serbia = _row(client, "RS")
    assert serbia["sources_lethal_aid"] == f"{GRAD} {CHART}"  # sorted; the JSON is newest first
    assert serbia["unverified_lethal_aid"] == "true"  # both are `unverified`
    turkiye = _row(client, "TR")
    assert turkiye["training"] == "yes"
    assert turkiye["sources_training"] == STATEMENT
    assert turkiye["unverified_training"] == "false"  # not_applicable
    assert (turkiye["sources_lethal_aid"], turkiye["unverified_lethal_aid"]) == ("", "false")
    # Its authenticity contested: `disputed` counts as not established.
    source = client.get(f"/sources/{STATEMENT}")
    changed = client.patch(
        f"/sources/{STATEMENT}",
        json={"verification_status": "disputed"},
        headers=bearer(admin, **{"If-Match": source.headers["etag"]}),
    )
    assert changed.status_code == 200, changed.text
    assert _row(client, "TR")["unverified_training"] == "true"
    # The export route answers the same bytes as the negotiated one.
    export = client.get("/exports/positions.csv")
    assert export.text == _csv(client, "/positions").text
