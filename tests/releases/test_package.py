"""The data package of a release, built from the live seeded database: valid as Frictionless
reads it, equal value for value to the JSON API, the same zip bytes every time, and its
`assessments.csv` the same table `GET /exports/assessments.csv` streams."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import frictionless
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.releases import package
from app.releases.package import PackageInfo
from app.settings import Settings
from tests.factories import bearer, make_key

CREATED = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def curated(client: TestClient, seeded_settings: Settings) -> TestClient:
    """The seeded app with one of Serbia's assessments retracted: history the package keeps."""
    first = client.get("/countries/RS/assessments").json()["items"][0]
    path = f"/assessments/{first['id']}"
    etag = client.get(path).headers["ETag"]
    key = make_key(seeded_settings, "release-test")
    retracted = client.delete(
        path, params={"note": "Misread."}, headers=bearer(key, **{"If-Match": etag})
    )
    assert retracted.status_code == 204, retracted.text
    return client


@pytest.fixture
def session(curated: TestClient) -> Iterator[Session]:
    with curated.app.state.sessionmaker() as opened:  # type: ignore[attr-defined]
        yield opened


def _info(session: Session, **overrides: Any) -> PackageInfo:
    sha256, digests = package.digest(session)
    fields: dict[str, Any] = {
        "version": "2026.1",
        "created": CREATED,
        "revision": 7,
        "sha256": sha256,
        "citation": "country-positions contributors (2026).",
        "digests": digests,
    }
    return PackageInfo(**(fields | overrides))


def _build(session: Session, info: PackageInfo, folder: Path) -> Path:
    (folder / "data").mkdir(parents=True)
    target = folder / package.DESCRIPTOR
    target.write_bytes(package.descriptor_bytes(session, info))
    for path, chunks in package.resources(session).items():
        with (folder / path).open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
    return target


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _read(folder: Path, name: str) -> list[dict[str, str]]:
    return _rows((folder / "data" / name).read_bytes().decode())


def _assert_valid(target: Path) -> None:
    report = frictionless.validate(str(target))
    errors = report.flatten(["taskNumber", "rowNumber", "fieldName", "type", "note"])
    assert report.valid, json.dumps(errors, indent=1, default=str)[:4000]


def _none(value: str) -> str | None:
    return value or None


def test_the_package_is_a_valid_data_package_v2(session: Session, tmp_path: Path) -> None:
    target = _build(session, _info(session), tmp_path)
    _assert_valid(target)
    descriptor = json.loads(target.read_text(encoding="utf-8"))
    assert descriptor["$schema"] == "https://datapackage.org/profiles/2.0/datapackage.json"
    assert descriptor["version"] == "2026.1"
    assert descriptor["created"] == "2026-11-30T12:00:00Z"
    assert descriptor["licenses"][0]["name"] == "CC-BY-4.0"
    assert "not been independently verified" in descriptor["description"]
    assert "`unknown` means no source we hold reports a value" in descriptor["description"]
    assert [r["path"] for r in descriptor["resources"]] == [
        "data/countries.csv",
        "data/categories.csv",
        "data/sources.csv",
        "data/assessments.csv",
        "data/positions.csv",
        "data/claims.csv",
        "data/denials.csv",
    ]
    release = descriptor["country_positions:release"]
    assert release["revision"] == 7
    # The release hash is what `sha256sum data/*.csv | sha256sum` prints.
    manifest = "".join(
        f"{hashlib.sha256((tmp_path / p).read_bytes()).hexdigest()}  {p}\n"
        for p in sorted(package.PATHS)
    )
    assert release["sha256"] == hashlib.sha256(manifest.encode()).hexdigest()
    titles = {s["title"] for s in descriptor["sources"]}
    assert "Europe | Response to Ongoing Russia-Ukraine Conflict" in titles
    assessments = descriptor["resources"][3]["schema"]
    assert assessments["primaryKey"] == ["id"]
    assert {fk["reference"]["resource"] for fk in assessments["foreignKeys"]} == {
        "countries",
        "categories",
        "sources",
    }
    fields = {f["name"]: f for f in assessments["fields"]}
    assert fields["value"]["constraints"]["enum"] == ["yes", "no", "decreasing"]
    assert fields["as_of"]["type"] == "date"
    assert fields["retracted_at"]["type"] == "datetime"
    assert fields["counts"]["type"] == "boolean"


def test_a_package_whose_data_changed_is_invalid(session: Session, tmp_path: Path) -> None:
    """The stated hashes are checked: frictionless notices an edited CSV."""
    target = _build(session, _info(session), tmp_path)
    countries = tmp_path / "data" / "countries.csv"
    countries.write_bytes(countries.read_bytes().replace(b"Serbia", b"Serbja"))
    assert not frictionless.validate(str(target)).valid


def test_foreign_keys_are_checked(session: Session, tmp_path: Path) -> None:
    """Without hashes to trip first, an assessment of an unknown source breaks a foreign key."""
    target = _build(session, _info(session, digests=()), tmp_path)
    assessments = tmp_path / "data" / "assessments.csv"
    text = assessments.read_bytes().replace(b",us-europe-response-chart-2023,", b",nobody,", 1)
    assessments.write_bytes(text)
    report = frictionless.validate(str(target))
    assert report.flatten(["type"]) == [["foreign-key"]]


def test_the_csvs_say_what_the_json_api_says(
    curated: TestClient, session: Session, tmp_path: Path
) -> None:
    _build(session, _info(session), tmp_path)

    chart = curated.get("/positions", params={"limit": 500}).json()["items"]
    expected_positions = []
    for item in chart:
        row = {k: item["country"][k] for k in ("code", "alpha3", "name")}
        for p in item["positions"]:
            row[p["category"]] = p["value"]
        for p in item["positions"]:
            row[f"disputed_{p['category']}"] = "true" if p["disputed"] else "false"
        for p in item["positions"]:
            row[f"sources_{p['category']}"] = " ".join(sorted(p["source_ids"]))
        row["coverage"] = item["coverage"]
        for p in item["positions"]:
            row[f"coverage_{p['category']}"] = p["coverage"]
        for p in item["positions"]:
            shaky = {"unverified", "disputed"} & {s["verification_status"] for s in p["sources"]}
            row[f"unverified_{p['category']}"] = "true" if shaky else "false"
        expected_positions.append(row)
    assert _read(tmp_path, "positions.csv") == expected_positions
    assert (
        curated.get("/exports/positions.csv").content
        == (tmp_path / "data" / "positions.csv").read_bytes()
    )

    countries = curated.get("/countries", params={"limit": 500}).json()["items"]
    assert [{k: _none(v) for k, v in r.items()} for r in _read(tmp_path, "countries.csv")] == [
        {k: c[k] for k in ("code", "alpha3", "numeric", "name", "official_name")} for c in countries
    ]

    categories = curated.get("/categories").json()
    assert [(r["key"], r["label"]) for r in _read(tmp_path, "categories.csv")] == [
        (c["key"], c["label"]) for c in categories
    ]

    sources = curated.get("/sources").json()
    read_sources = _read(tmp_path, "sources.csv")
    assert [r["id"] for r in read_sources] == [s["id"] for s in sources]
    for row, source in zip(read_sources, sources, strict=True):
        coverage = row.pop("coverage")
        assert (json.loads(coverage) if coverage else None) == source["coverage"]
        assert (row.pop("relays").split() or None) == source["relays"]
        assert {k: _none(v) for k, v in row.items()} == {k: source[k] for k in row}

    by_id = {int(r["id"]): r for r in _read(tmp_path, "assessments.csv")}
    titles = {s["id"]: s["title"] for s in sources}
    served = curated.get("/countries/RS/assessments", params={"limit": 500}).json()["items"]
    assert served
    for item in served:  # what counts, as the JSON has it
        row = by_id[item["id"]]
        assert row["counts"] == "true"
        assert row["source_title"] == titles[item["source_id"]]
        assert row["reported_via_title"] == (titles.get(item["reported_via_id"]) or "")
        for key in ("country_code", "category", "value", "source_id", "reported_via_id"):
            assert _none(row[key]) == item[key], key
        for key in ("as_of", "evidence", "note", "retracted_at", "source_retracted_at"):
            assert _none(row[key]) == item[key], key
    rs_rows = [r for r in by_id.values() if r["country_code"] == "RS"]
    retracted = [r for r in rs_rows if r["counts"] == "false"]
    assert len(rs_rows) == len(served) + 1 and len(retracted) == 1  # the history is kept
    gone = curated.get(f"/assessments/{retracted[0]['id']}").json()
    assert retracted[0]["retracted_at"] == gone["retracted_at"]
    assert retracted[0]["retraction_note"] == "Misread."


def test_the_zip_is_the_same_bytes_every_time(session: Session, tmp_path: Path) -> None:
    info = _info(session)
    first, second = io.BytesIO(), io.BytesIO()
    package.write_zip(session, info, first)
    package.write_zip(session, info, second)
    assert first.getvalue() == second.getvalue()
    with zipfile.ZipFile(first) as archive:
        assert archive.namelist() == [
            "datapackage.json",
            "data/assessments.csv",
            "data/categories.csv",
            "data/claims.csv",
            "data/countries.csv",
            "data/denials.csv",
            "data/positions.csv",
            "data/sources.csv",
        ]
        assert {i.date_time for i in archive.infolist()} == {(2026, 11, 30, 12, 0, 0)}
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_DEFLATED}
        archive.extractall(tmp_path / "unzipped")
    _assert_valid(tmp_path / "unzipped" / "datapackage.json")
    for path, chunks in package.resources(session).items():
        assert (tmp_path / "unzipped" / path).read_bytes() == b"".join(chunks)


def test_a_zip_refuses_data_that_left_its_digest(session: Session) -> None:
    info = _info(session)
    wrong = tuple(
        package.ResourceDigest(d.path, "0" * 64, d.bytes) if d.path.endswith("sources.csv") else d
        for d in info.digests
    )
    with pytest.raises(ValueError, match=r"data/sources\.csv"):
        package.write_zip(session, _info(session, digests=wrong), io.BytesIO())


def test_the_live_export_is_the_packages_assessments(curated: TestClient, session: Session) -> None:
    response = curated.get("/exports/assessments.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    body = b"".join(package.csv_bytes(session, "data/assessments.csv"))
    assert response.content == body
    rows = _rows(response.text)
    assert int(response.headers["X-Total-Count"]) == len(rows)
    assert [int(r["id"]) for r in rows] == sorted(int(r["id"]) for r in rows)
    assert "/exports/assessments.csv-metadata.json" in response.headers["link"]
    document = curated.get("/exports/assessments.csv-metadata.json").json()
    assert [c["name"] for c in document["tableSchema"]["columns"]] == list(rows[0])

    page = curated.get("/exports/assessments.csv", params={"limit": 2, "offset": 1})
    assert _rows(page.text) == rows[1:3]
