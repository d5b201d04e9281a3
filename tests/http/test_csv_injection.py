"""Spreadsheet formula injection (OWASP "CSV injection") is neutralised in every CSV: a text
cell that starts with `=`, `+`, `-`, `@`, a tab or a CR gets a leading `'`, in the CSV
only; the JSON and NDJSON keep the original (app.http.csv_safety). The LibreOffice proof
that the `'` works is tests/http/test_csv_spreadsheet.py."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from fastapi.testclient import TestClient

from app.assessments.csv_tables import TABLES
from app.http.csv_safety import FORMULA_TRIGGERS, safe_cell, safe_row
from app.http.exports import csv_lines
from tests.http.conftest import HYPERLINK, NOTE, OFFICIAL_NAME, Hostile


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
def test_a_cell_starting_with_a_trigger_gets_a_leading_quote(trigger: str) -> None:
    assert safe_cell(f"{trigger}1+1") == f"'{trigger}1+1"
    assert safe_cell(trigger) == f"'{trigger}"


@pytest.mark.parametrize(
    "value",
    ["", "plain text", "1+1", " =1+1", "'=1+1", "a=b", "2023-03-02", "true", "\n=1"],
)
def test_other_text_is_left_alone(value: str) -> None:
    assert safe_cell(value) == value


def test_only_text_cells_change() -> None:
    assert safe_row([-1, 2.5, None, True, date(2023, 3, 2), "-1"]) == [
        -1,
        2.5,
        "",
        True,
        date(2023, 3, 2),
        "'-1",
    ]


def test_csv_lines_applies_the_rule_and_quotes_as_rfc_4180() -> None:
    assert (
        csv_lines([[HYPERLINK, "\t@x", None]])
        == b'"\'=HYPERLINK(""http://evil"",""x"")",\'\t@x,\r\n'
    )


def test_the_documents_name_the_rule_on_free_text_columns() -> None:
    free = {c.name for t in TABLES.values() for c in t.columns if c.free_text}
    assert {"evidence", "note", "name", "official_name"} <= free
    for table in TABLES.values():
        assert "leading `'`" in table.description()
        for column in table.columns:
            assert ("leading `'`" in column.csvw()["dc:description"]) is column.free_text


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.parametrize(
    "url", ["/exports/countries/RS/assessments.csv", "/countries/RS/assessments?format=csv"]
)
def test_assessments_csv_prefixes_hostile_evidence_and_json_keeps_it(
    hostile: Hostile, url: str
) -> None:
    client = hostile.client
    response = client.get(url)
    assert response.status_code == 200, response.text
    by_id = {int(row["id"]): row for row in _rows(response.text)}
    listed = client.get("/countries/RS/assessments", params={"limit": 500}).json()["items"]
    as_json = {item["id"]: item for item in listed}
    for id_, evidence in hostile.evidence.items():
        assert as_json[id_]["evidence"] == evidence  # the JSON: the original text
        assert by_id[id_]["evidence"] == "'" + evidence, id_
    assert as_json[hostile.noted]["note"] == NOTE
    assert by_id[hostile.noted]["note"] == "'" + NOTE
    # Everything else is as the JSON has it.
    for id_, row in by_id.items():
        if id_ not in hostile.evidence:
            assert row["evidence"] == as_json[id_]["evidence"]
            assert row["evidence"][0] != "'"


def test_assessments_ndjson_keeps_the_original_text(hostile: Hostile) -> None:
    response = hostile.client.get("/exports/countries/RS/assessments.ndjson")
    assert response.status_code == 200
    by_id = {item["id"]: item for item in map(json.loads, response.text.splitlines())}
    for id_, evidence in hostile.evidence.items():
        assert by_id[id_]["evidence"] == evidence


def test_countries_csv_prefixes_a_hostile_name(hostile: Hostile) -> None:
    client: TestClient = hostile.client
    for url in ("/exports/countries.csv", "/countries?format=csv"):
        rows = {row["code"]: row for row in _rows(client.get(url).text)}
        assert rows["RS"]["official_name"] == "'" + OFFICIAL_NAME
        assert rows["AT"]["official_name"] == "Republic of Austria"
    serbia = client.get("/countries/RS").json()
    assert serbia["official_name"] == OFFICIAL_NAME
