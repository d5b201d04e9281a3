"""Every status code docs/openapi.json documents is reachable: for each operation and each
status it documents, STATUSES holds either a concrete request that produces that status from
a live server, or the reason none is made here. A status added to or dropped from the
contract fails the test until the table says how it is reached.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from app.http.openapi_export import COMMITTED
from app.settings import Settings
from app.vocabulary import KeyScope
from tests.factories import ARTICLE, CHART, bearer, make_key
from tests.problems import assert_problem
from tests.servers import running_server

# Nothing listens on port 1: connecting fails at once, as when the database is down.
UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none"
# Over CP_MAX_BODY_BYTES (64 KiB by default) however it is encoded.
HUGE = "x" * 70_000


@dataclass
class Api:
    """HTTP against two live servers: one on a seeded database, one whose database cannot be
    reached (every data operation there answers 503), with keys of both scopes."""

    up: httpx.Client
    down: httpx.Client
    admin: str
    writer: str
    _releases: Iterator[int] = field(default_factory=lambda: iter(range(1, 10_000)))
    _dates: Iterator[date] = field(
        default_factory=lambda: (date(2024, 1, 1) + timedelta(days=n) for n in range(10_000))
    )

    def etag(self, path: str) -> str:
        response = self.up.get(path)
        assert response.status_code == 200, response.text
        return response.headers["ETag"]

    def assessment_body(self, **overrides: Any) -> dict[str, Any]:
        """A new assessment: (country, category, source, as_of) is unique on every call."""
        return {
            "country": "RS",
            "category": "lethal_aid",
            "value": "no",
            "source": CHART,
            "as_of": next(self._dates).isoformat(),
            "evidence": "Recorded by the status-code reachability test.",
            **overrides,
        }

    def new_release(self) -> str:
        """Make a release (a version higher on every call); return its path."""
        version = f"2030.{next(self._releases)}"
        response = self.up.post("/releases", json={"version": version}, headers=bearer(self.admin))
        assert response.status_code == 201, response.text
        return f"/releases/{version}"

    def new_assessment(self) -> tuple[str, str]:
        """Record a fresh assessment; return its path and ETag."""
        response = self.up.post(
            "/assessments", json=self.assessment_body(), headers=bearer(self.writer)
        )
        assert response.status_code == 201, response.text
        path = f"/assessments/{response.json()['id']}"
        return path, response.headers["ETag"]

    def retracted_assessment(self) -> tuple[str, str]:
        """A fresh assessment, retracted; return its path and current ETag."""
        path, etag = self.new_assessment()
        gone = self.up.delete(path, headers=bearer(self.writer, **{"If-Match": etag}))
        assert gone.status_code == 204, gone.text
        return path, self.etag(path)

    def new_source(self) -> tuple[str, str]:
        """Record a fresh source (an id unique on every call); return its path and ETag."""
        source_id = f"status-source-{next(self._dates).isoformat()}"
        response = self.up.post("/sources", json=_source(source_id), headers=bearer(self.admin))
        assert response.status_code == 201, response.text
        return f"/sources/{source_id}", response.headers["ETag"]

    def retracted_source(self) -> tuple[str, str]:
        """A fresh source, retracted; return its path and current ETag."""
        path, etag = self.new_source()
        gone = self.up.delete(path, headers=bearer(self.admin, **{"If-Match": etag}))
        assert gone.status_code == 204, gone.text
        return path, self.etag(path)

    def stale(self, path: str, change: dict[str, Any]) -> str:
        """The ETag `path` had before `change` was made to it."""
        before = self.etag(path)
        patched = self.up.patch(
            path, json=change, headers=bearer(self.admin, **{"If-Match": before})
        )
        assert patched.status_code == 200, patched.text
        return before


Probe = Callable[[Api], httpx.Response]


def _patch_assessment(api: Api, body: Any) -> httpx.Response:
    path, etag = api.new_assessment()
    return api.up.patch(path, json=body, headers=bearer(api.writer, **{"If-Match": etag}))


def _patch_source(api: Api, body: Any, *, key: str | None = None) -> httpx.Response:
    path = f"/sources/{ARTICLE}"
    return api.up.patch(
        path, json=body, headers=bearer(key or api.admin, **{"If-Match": api.etag(path)})
    )


def _retract(api: Api) -> httpx.Response:
    path, etag = api.new_assessment()
    return api.up.delete(path, headers=bearer(api.writer, **{"If-Match": etag}))


def _down(method: str, path: str, **kwargs: Any) -> Probe:
    """The request, to the server whose database cannot be reached."""
    return lambda api: api.down.request(
        method, path, headers=bearer(api.admin, **{"If-Match": '"x"'}), **kwargs
    )


WITHDRAWAL = {"reason": "Made by mistake."}


def _withdrawn_twice(api: Api, path: str) -> httpx.Response:
    api.up.post(f"{path}/withdrawal", json=WITHDRAWAL, headers=bearer(api.admin))
    return api.up.post(f"{path}/withdrawal", json=WITHDRAWAL, headers=bearer(api.admin))


READS_NEED_A_KEY_ONLY_WHEN_CONFIGURED = (
    "reached only on a server with CP_REQUIRE_KEY_FOR_READS=1 (this one keeps reads public); "
    "covered by tests/curation/test_api_keys.py::test_reads_need_a_valid_key_when_required"
)
READ_OPERATIONS = (
    "listReleases",
    "getLatestRelease",
    "getRelease",
    "getReleaseDatapackage",
    "getReleaseResource",
    "getReleaseZip",
    "getAssessment",
    "getAssessmentHistory",
    "exportCountriesCsv",
    "exportCountryAssessmentsCsv",
    "exportCountryAssessmentsNdjson",
    "exportPositionsCsv",
    "exportPositionsNdjson",
    "exportStatsCsv",
    "exportEveryAssessmentCsv",
    "getAssessmentsCsvMetadata",
    "getEveryAssessmentCsvMetadata",
    "getCategory",
    "getGroup",
    "listGroups",
    "listClaims",
    "listDenials",
    "getCountriesCsvMetadata",
    "getCountry",
    "getSource",
    "getStats",
    "listCategories",
    "listChanges",
    "getChangesFeed",
    "listCountries",
    "listCountryAssessments",
    "listCountryPositions",
    "listPositions",
    "listSources",
    "getPositionsCsvMetadata",
    "getStatsCsvMetadata",
)

RATE_LIMITED_ELSEWHERE = (
    "the suite's servers run with CP_RATE_LIMIT_ENABLED=false (tests/conftest.py); "
    "429 is reached in tests/load/test_rate_limit.py, for reads and writes alike"
)
WRITE_OPERATIONS = (
    "createRelease",
    "withdrawRelease",
    "createAssessment",
    "retractAssessment",
    "updateAssessment",
    "createSource",
    "updateSource",
    "retractSource",
)

STATUSES: dict[tuple[str, str], Probe | str] = {
    **{(operation, "401"): READS_NEED_A_KEY_ONLY_WHEN_CONFIGURED for operation in READ_OPERATIONS},
    **{
        (operation, "429"): RATE_LIMITED_ELSEWHERE
        for operation in READ_OPERATIONS + WRITE_OPERATIONS
    },
    # POST /assessments
    ("createAssessment", "201"): lambda api: api.up.post(
        "/assessments", json=api.assessment_body(), headers=bearer(api.writer)
    ),
    ("createAssessment", "401"): lambda api: api.up.post(
        "/assessments", json=api.assessment_body()
    ),
    ("createAssessment", "409"): lambda api: api.up.post(
        "/assessments",
        json=api.assessment_body(category="training", as_of="2023-03-02"),
        headers=bearer(api.writer),
    ),
    ("createAssessment", "413"): lambda api: api.up.post(
        "/assessments", json=api.assessment_body(evidence=HUGE), headers=bearer(api.writer)
    ),
    ("createAssessment", "422"): lambda api: api.up.post(
        "/assessments", json=api.assessment_body(value="maybe"), headers=bearer(api.writer)
    ),
    ("createAssessment", "503"): _down("POST", "/assessments", json={}),
    # DELETE /assessments/{assessment_id}
    ("retractAssessment", "204"): lambda api: _retract(api),
    ("retractAssessment", "401"): lambda api: api.up.delete(api.new_assessment()[0]),
    ("retractAssessment", "404"): lambda api: api.up.delete(
        "/assessments/999999", headers=bearer(api.writer, **{"If-Match": '"x"'})
    ),
    ("retractAssessment", "409"): lambda api: api.up.delete(
        (retracted := api.retracted_assessment())[0],
        headers=bearer(api.writer, **{"If-Match": retracted[1]}),
    ),
    ("retractAssessment", "412"): lambda api: api.up.delete(
        (path := api.new_assessment()[0]),
        headers=bearer(api.writer, **{"If-Match": api.stale(path, {"note": "n"})}),
    ),
    ("retractAssessment", "422"): lambda api: api.up.delete(
        "/assessments/0", headers=bearer(api.writer, **{"If-Match": '"x"'})
    ),
    ("retractAssessment", "428"): lambda api: api.up.delete(
        api.new_assessment()[0], headers=bearer(api.writer)
    ),
    ("retractAssessment", "503"): _down("DELETE", "/assessments/1"),
    # GET /assessments/{assessment_id}
    ("getAssessment", "200"): lambda api: api.up.get("/assessments/1"),
    ("getAssessment", "404"): lambda api: api.up.get("/assessments/999999"),
    ("getAssessment", "422"): lambda api: api.up.get("/assessments/0"),
    ("getAssessment", "503"): _down("GET", "/assessments/1"),
    # PATCH /assessments/{assessment_id}
    ("updateAssessment", "200"): lambda api: _patch_assessment(api, {"value": "decreasing"}),
    ("updateAssessment", "401"): lambda api: api.up.patch(
        api.new_assessment()[0], json={"value": "yes"}
    ),
    ("updateAssessment", "404"): lambda api: api.up.patch(
        "/assessments/999999",
        json={"value": "yes"},
        headers=bearer(api.writer, **{"If-Match": '"x"'}),
    ),
    ("updateAssessment", "409"): lambda api: api.up.patch(
        (retracted := api.retracted_assessment())[0],
        json={"value": "yes"},
        headers=bearer(api.writer, **{"If-Match": retracted[1]}),
    ),
    ("updateAssessment", "412"): lambda api: api.up.patch(
        (path := api.new_assessment()[0]),
        json={"value": "yes"},
        headers=bearer(api.writer, **{"If-Match": api.stale(path, {"note": "n"})}),
    ),
    ("updateAssessment", "413"): lambda api: _patch_assessment(api, {"evidence": HUGE}),
    ("updateAssessment", "422"): lambda api: _patch_assessment(api, {"value": "maybe"}),
    ("updateAssessment", "428"): lambda api: api.up.patch(
        api.new_assessment()[0], json={"value": "yes"}, headers=bearer(api.writer)
    ),
    ("updateAssessment", "503"): _down("PATCH", "/assessments/1", json={"value": "yes"}),
    # GET /assessments/{assessment_id}/history
    ("getAssessmentHistory", "200"): lambda api: api.up.get("/assessments/1/history"),
    ("getAssessmentHistory", "404"): lambda api: api.up.get("/assessments/999999/history"),
    ("getAssessmentHistory", "422"): lambda api: api.up.get("/assessments/0/history"),
    ("getAssessmentHistory", "503"): _down("GET", "/assessments/1/history"),
    # GET /categories, /categories/{key}
    ("listCategories", "200"): lambda api: api.up.get("/categories"),
    ("listCategories", "422"): lambda api: api.up.get("/categories", params={"sort": "key"}),
    ("listCategories", "503"): _down("GET", "/categories"),
    ("getCategory", "200"): lambda api: api.up.get("/categories/lethal_aid"),
    ("getCategory", "404"): lambda api: api.up.get("/categories/lethal-aid"),
    ("getCategory", "422"): lambda api: api.up.get("/categories/" + "k" * 65),
    ("getCategory", "503"): _down("GET", "/categories/lethal_aid"),
    # GET /exports/*.csv-metadata.json (CSVW documents; only the per-country one reads the database)
    ("getCountriesCsvMetadata", "200"): lambda api: api.up.get(
        "/exports/countries.csv-metadata.json"
    ),
    ("getCountriesCsvMetadata", "422"): lambda api: api.up.get(
        "/exports/countries.csv-metadata.json", params={"format": "csv"}
    ),
    ("getPositionsCsvMetadata", "200"): lambda api: api.up.get(
        "/exports/positions.csv-metadata.json"
    ),
    ("getPositionsCsvMetadata", "422"): lambda api: api.up.get(
        "/exports/positions.csv-metadata.json", params={"limit": 1}
    ),
    ("getStatsCsvMetadata", "200"): lambda api: api.up.get("/exports/stats.csv-metadata.json"),
    ("getStatsCsvMetadata", "422"): lambda api: api.up.get(
        "/exports/stats.csv-metadata.json", params={"as_of": "2023-03-02"}
    ),
    ("getEveryAssessmentCsvMetadata", "200"): lambda api: api.up.get(
        "/exports/assessments.csv-metadata.json"
    ),
    ("getEveryAssessmentCsvMetadata", "422"): lambda api: api.up.get(
        "/exports/assessments.csv-metadata.json", params={"limit": 1}
    ),
    ("exportEveryAssessmentCsv", "200"): lambda api: api.up.get("/exports/assessments.csv"),
    ("exportEveryAssessmentCsv", "422"): lambda api: api.up.get(
        "/exports/assessments.csv", params={"limit": 0}
    ),
    ("exportEveryAssessmentCsv", "503"): _down("GET", "/exports/assessments.csv"),
    ("getAssessmentsCsvMetadata", "200"): lambda api: api.up.get(
        "/exports/countries/RS/assessments.csv-metadata.json"
    ),
    ("getAssessmentsCsvMetadata", "404"): lambda api: api.up.get(
        "/exports/countries/ZZ/assessments.csv-metadata.json"
    ),
    ("getAssessmentsCsvMetadata", "422"): lambda api: api.up.get(
        "/exports/countries/R5/assessments.csv-metadata.json"
    ),
    ("getAssessmentsCsvMetadata", "503"): _down(
        "GET", "/exports/countries/RS/assessments.csv-metadata.json"
    ),
    # GET /changes
    ("listChanges", "200"): lambda api: api.up.get("/changes", params={"since": 40}),
    ("listChanges", "422"): lambda api: api.up.get("/changes", params={"limit": 0}),
    ("listChanges", "503"): _down("GET", "/changes"),
    # GET /changes.atom
    ("getChangesFeed", "200"): lambda api: api.up.get("/changes.atom", params={"country": "srb"}),
    ("getChangesFeed", "404"): lambda api: api.up.get("/changes.atom", params={"country": "ZZ"}),
    ("getChangesFeed", "422"): lambda api: api.up.get("/changes.atom", params={"since": 3}),
    ("getChangesFeed", "503"): _down("GET", "/changes.atom"),
    # GET /countries, /countries/{code}, its assessments and positions
    ("listCountries", "200"): lambda api: api.up.get(
        "/countries", params={"category": "training", "value": "no"}
    ),
    ("listCountries", "404"): lambda api: api.up.get(
        "/countries", params={"category": "training", "value": "no", "source": "nobody"}
    ),
    ("listCountries", "406"): lambda api: api.up.get("/countries", params={"format": "xml"}),
    ("listCountries", "422"): lambda api: api.up.get("/countries", params={"limit": 0}),
    ("listCountries", "503"): _down("GET", "/countries"),
    ("getCountry", "200"): lambda api: api.up.get("/countries/srb"),
    ("getCountry", "404"): lambda api: api.up.get("/countries/ZZ"),
    ("getCountry", "422"): lambda api: api.up.get("/countries/R5"),
    ("getCountry", "503"): _down("GET", "/countries/RS"),
    ("listCountryAssessments", "200"): lambda api: api.up.get("/countries/RS/assessments"),
    ("listCountryAssessments", "404"): lambda api: api.up.get("/countries/ZZ/assessments"),
    ("listCountryAssessments", "406"): lambda api: api.up.get(
        "/countries/RS/assessments", params={"format": "xml"}
    ),
    ("listCountryAssessments", "422"): lambda api: api.up.get(
        "/countries/RS/assessments", params={"limit": 501}
    ),
    ("listCountryAssessments", "503"): _down("GET", "/countries/RS/assessments"),
    ("listCountryPositions", "200"): lambda api: api.up.get("/countries/RS/positions"),
    ("listCountryPositions", "404"): lambda api: api.up.get("/countries/ZZ/positions"),
    ("listCountryPositions", "422"): lambda api: api.up.get(
        "/countries/RS/positions", params={"as_of": "02/03/2023"}
    ),
    ("listCountryPositions", "503"): _down("GET", "/countries/RS/positions"),
    # Health
    ("healthz", "200"): lambda api: api.down.get("/healthz"),
    ("healthz", "413"): lambda api: api.down.request("GET", "/healthz", content=b"x" * 2**21),
    ("readyz", "413"): lambda api: api.up.request("GET", "/readyz", content=b"x" * 2**21),
    ("readyz", "200"): lambda api: api.up.get("/readyz"),
    ("readyz", "503"): lambda api: api.down.get("/readyz"),
    # GET /positions, /stats
    ("listPositions", "200"): lambda api: api.up.get("/positions", params={"value": "no"}),
    ("listPositions", "404"): lambda api: api.up.get("/positions", params={"source": "nobody"}),
    ("listPositions", "406"): lambda api: api.up.get(
        "/positions", headers={"Accept": "application/xml"}
    ),
    ("listPositions", "422"): lambda api: api.up.get(
        "/positions", params=[("limit", "5"), ("limit", "6")]
    ),
    ("listPositions", "503"): _down("GET", "/positions"),
    ("getStats", "200"): lambda api: api.up.get("/stats", params={"source": CHART}),
    ("getStats", "404"): lambda api: api.up.get("/stats", params={"source": "nobody"}),
    ("getStats", "422"): lambda api: api.up.get("/stats", params={"as_of": "yesterday"}),
    ("getStats", "406"): lambda api: api.up.get("/stats", headers={"Accept": "image/png"}),
    ("getStats", "503"): _down("GET", "/stats"),
    # GET /groups, /groups/{key}
    ("listGroups", "200"): lambda api: api.up.get("/groups", params={"as_of": "2023-03-02"}),
    ("listGroups", "422"): lambda api: api.up.get("/groups", params={"as_of": "03/02/2023"}),
    ("listGroups", "503"): _down("GET", "/groups"),
    ("getGroup", "200"): lambda api: api.up.get("/groups/nato"),
    ("getGroup", "404"): lambda api: api.up.get("/groups/warsaw-pact"),
    ("getGroup", "422"): lambda api: api.up.get("/groups/NATO!"),
    ("getGroup", "503"): _down("GET", "/groups/nato"),
    # GET /claims, /denials
    ("listClaims", "200"): lambda api: api.up.get("/claims", params={"country": "GR"}),
    ("listClaims", "404"): lambda api: api.up.get("/claims", params={"source": "nobody"}),
    ("listClaims", "422"): lambda api: api.up.get("/claims", params={"rank": "best"}),
    ("listClaims", "503"): _down("GET", "/claims"),
    ("listDenials", "200"): lambda api: api.up.get("/denials", params={"country": "RS"}),
    ("listDenials", "404"): lambda api: api.up.get("/denials", params={"country": "ZZ"}),
    ("listDenials", "422"): lambda api: api.up.get("/denials", params={"category": "morale"}),
    ("listDenials", "503"): _down("GET", "/denials"),
    # GET /exports/...: the CSV and NDJSON renderings
    ("exportPositionsCsv", "200"): lambda api: api.up.get("/exports/positions.csv"),
    ("exportPositionsCsv", "404"): lambda api: api.up.get(
        "/exports/positions.csv", params={"source": "nobody"}
    ),
    ("exportPositionsCsv", "422"): lambda api: api.up.get(
        "/exports/positions.csv", params={"value": "maybe"}
    ),
    ("exportPositionsCsv", "503"): _down("GET", "/exports/positions.csv"),
    ("exportPositionsNdjson", "200"): lambda api: api.up.get(
        "/exports/positions.ndjson", params={"category": "lethal_aid"}
    ),
    ("exportPositionsNdjson", "404"): lambda api: api.up.get(
        "/exports/positions.ndjson", params={"source": "nobody"}
    ),
    ("exportPositionsNdjson", "422"): lambda api: api.up.get(
        "/exports/positions.ndjson", params={"format": "csv"}
    ),
    ("exportPositionsNdjson", "503"): _down("GET", "/exports/positions.ndjson"),
    ("exportStatsCsv", "200"): lambda api: api.up.get("/exports/stats.csv"),
    ("exportStatsCsv", "404"): lambda api: api.up.get(
        "/exports/stats.csv", params={"source": "nobody"}
    ),
    ("exportStatsCsv", "422"): lambda api: api.up.get(
        "/exports/stats.csv", params={"as_of": "2023-02-30"}
    ),
    ("exportStatsCsv", "503"): _down("GET", "/exports/stats.csv"),
    ("exportCountriesCsv", "200"): lambda api: api.up.get(
        "/exports/countries.csv", params={"q": "serb"}
    ),
    ("exportCountriesCsv", "404"): lambda api: api.up.get(
        "/exports/countries.csv", params={"source": "nobody"}
    ),
    ("exportCountriesCsv", "422"): lambda api: api.up.get(
        "/exports/countries.csv", params={"limit": 0}
    ),
    ("exportCountriesCsv", "503"): _down("GET", "/exports/countries.csv"),
    ("exportCountryAssessmentsCsv", "200"): lambda api: api.up.get(
        "/exports/countries/RS/assessments.csv"
    ),
    ("exportCountryAssessmentsCsv", "404"): lambda api: api.up.get(
        "/exports/countries/ZZ/assessments.csv"
    ),
    ("exportCountryAssessmentsCsv", "422"): lambda api: api.up.get(
        "/exports/countries/RS/assessments.csv", params={"offset": -1}
    ),
    ("exportCountryAssessmentsCsv", "503"): _down("GET", "/exports/countries/RS/assessments.csv"),
    ("exportCountryAssessmentsNdjson", "200"): lambda api: api.up.get(
        "/exports/countries/RS/assessments.ndjson"
    ),
    ("exportCountryAssessmentsNdjson", "404"): lambda api: api.up.get(
        "/exports/countries/ZZ/assessments.ndjson"
    ),
    ("exportCountryAssessmentsNdjson", "422"): lambda api: api.up.get(
        "/exports/countries/R5/assessments.ndjson"
    ),
    ("exportCountryAssessmentsNdjson", "503"): _down(
        "GET", "/exports/countries/RS/assessments.ndjson"
    ),
    # /sources
    ("listSources", "200"): lambda api: api.up.get("/sources"),
    ("listSources", "422"): lambda api: api.up.get("/sources", params={"limit": 10}),
    ("listSources", "503"): _down("GET", "/sources"),
    ("createSource", "201"): lambda api: api.up.post(
        "/sources", json=_source("serbia-presidency-2023-04"), headers=bearer(api.admin)
    ),
    ("createSource", "401"): lambda api: api.up.post("/sources", json=_source("anonymous")),
    ("createSource", "403"): lambda api: api.up.post(
        "/sources", json=_source("a-writer-s-source"), headers=bearer(api.writer)
    ),
    ("createSource", "409"): lambda api: api.up.post(
        "/sources", json=_source(CHART), headers=bearer(api.admin)
    ),
    ("createSource", "413"): lambda api: api.up.post(
        "/sources", json=_source("huge", title=HUGE), headers=bearer(api.admin)
    ),
    ("createSource", "422"): lambda api: api.up.post(
        "/sources", json=_source("Not A Slug"), headers=bearer(api.admin)
    ),
    ("createSource", "503"): _down("POST", "/sources", json={}),
    ("getSource", "200"): lambda api: api.up.get(f"/sources/{CHART}"),
    ("getSource", "404"): lambda api: api.up.get("/sources/nobody"),
    ("getSource", "422"): lambda api: api.up.get("/sources/Not_A_Slug"),
    ("getSource", "503"): _down("GET", f"/sources/{CHART}"),
    ("updateSource", "200"): lambda api: _patch_source(api, {"publisher": "Insight News"}),
    ("updateSource", "401"): lambda api: api.up.patch(
        f"/sources/{ARTICLE}", json={"publisher": "x"}
    ),
    ("updateSource", "403"): lambda api: _patch_source(api, {"publisher": "x"}, key=api.writer),
    ("updateSource", "404"): lambda api: api.up.patch(
        "/sources/nobody",
        json={"publisher": "x"},
        headers=bearer(api.admin, **{"If-Match": '"x"'}),
    ),
    ("updateSource", "412"): lambda api: api.up.patch(
        f"/sources/{ARTICLE}",
        json={"publisher": "x"},
        headers=bearer(
            api.admin, **{"If-Match": api.stale(f"/sources/{ARTICLE}", {"publisher": "p"})}
        ),
    ),
    ("updateSource", "413"): lambda api: _patch_source(api, {"title": HUGE}),
    ("updateSource", "422"): lambda api: _patch_source(api, {"title": ""}),
    ("updateSource", "428"): lambda api: api.up.patch(
        f"/sources/{ARTICLE}", json={"publisher": "x"}, headers=bearer(api.admin)
    ),
    ("updateSource", "409"): lambda api: api.up.patch(
        (retracted := api.retracted_source())[0],
        json={"publisher": "x"},
        headers=bearer(api.admin, **{"If-Match": retracted[1]}),
    ),
    ("updateSource", "503"): _down("PATCH", f"/sources/{CHART}", json={"publisher": "x"}),
    # DELETE /sources/{source_id}: only sources made here are retracted (the chart stays)
    ("retractSource", "204"): lambda api: api.up.delete(
        (made := api.new_source())[0], headers=bearer(api.admin, **{"If-Match": made[1]})
    ),
    ("retractSource", "401"): lambda api: api.up.delete(api.new_source()[0]),
    ("retractSource", "403"): lambda api: api.up.delete(
        (made := api.new_source())[0], headers=bearer(api.writer, **{"If-Match": made[1]})
    ),
    ("retractSource", "404"): lambda api: api.up.delete(
        "/sources/nobody", headers=bearer(api.admin, **{"If-Match": '"x"'})
    ),
    ("retractSource", "409"): lambda api: api.up.delete(
        (retracted := api.retracted_source())[0],
        headers=bearer(api.admin, **{"If-Match": retracted[1]}),
    ),
    ("retractSource", "412"): lambda api: api.up.delete(
        (path := api.new_source()[0]),
        headers=bearer(api.admin, **{"If-Match": api.stale(path, {"publisher": "p"})}),
    ),
    ("retractSource", "422"): lambda api: api.up.delete(
        "/sources/Not_A_Slug", headers=bearer(api.admin, **{"If-Match": '"x"'})
    ),
    ("retractSource", "428"): lambda api: api.up.delete(
        api.new_source()[0], headers=bearer(api.admin)
    ),
    ("retractSource", "503"): _down("DELETE", f"/sources/{CHART}"),
    # /releases
    ("listReleases", "200"): lambda api: api.up.get("/releases"),
    ("listReleases", "422"): lambda api: api.up.get("/releases", params={"limit": 0}),
    ("listReleases", "503"): _down("GET", "/releases"),
    ("createRelease", "201"): lambda api: api.up.post(
        "/releases", json={"version": "2029.1"}, headers=bearer(api.admin)
    ),
    ("createRelease", "401"): lambda api: api.up.post("/releases", json={"version": "2031.1"}),
    ("createRelease", "403"): lambda api: api.up.post(
        "/releases", json={"version": "2031.1"}, headers=bearer(api.writer)
    ),
    ("createRelease", "409"): lambda api: api.up.post(
        "/releases",
        json={"version": api.new_release().removeprefix("/releases/")},
        headers=bearer(api.admin),
    ),
    ("createRelease", "413"): lambda api: api.up.post(
        "/releases", json={"version": "2031.1", "notes": HUGE}, headers=bearer(api.admin)
    ),
    ("createRelease", "422"): lambda api: api.up.post(
        "/releases", json={"version": "2031.01"}, headers=bearer(api.admin)
    ),
    ("createRelease", "503"): _down("POST", "/releases", json={"version": "2031.1"}),
    ("getLatestRelease", "307"): lambda api: (api.new_release(), api.up.get("/releases/latest"))[1],
    ("getLatestRelease", "404"): (
        "reached only before any release exists (this server makes several); covered by "
        "tests/releases/test_releases.py::test_releases_are_listed_newest_first_and_latest_redirects"
    ),
    ("getLatestRelease", "422"): lambda api: api.up.get("/releases/latest", params={"v": 1}),
    ("getLatestRelease", "503"): _down("GET", "/releases/latest"),
    ("getRelease", "200"): lambda api: api.up.get(api.new_release()),
    ("getRelease", "404"): lambda api: api.up.get("/releases/1999.1"),
    ("getRelease", "422"): lambda api: api.up.get("/releases/v1"),
    ("getRelease", "503"): _down("GET", "/releases/2030.1"),
    ("getReleaseDatapackage", "200"): lambda api: api.up.get(
        f"{api.new_release()}/datapackage.json"
    ),
    ("getReleaseDatapackage", "404"): lambda api: api.up.get("/releases/1999.1/datapackage.json"),
    ("getReleaseDatapackage", "422"): lambda api: api.up.get("/releases/v1/datapackage.json"),
    ("getReleaseDatapackage", "503"): _down("GET", "/releases/2030.1/datapackage.json"),
    ("getReleaseResource", "200"): lambda api: api.up.get(
        f"{api.new_release()}/data/positions.csv"
    ),
    ("getReleaseResource", "404"): lambda api: api.up.get(f"{api.new_release()}/data/nothing.csv"),
    ("getReleaseResource", "422"): lambda api: api.up.get(f"{api.new_release()}/data/Bad.csv"),
    ("getReleaseResource", "503"): _down("GET", "/releases/2030.1/data/positions.csv"),
    ("getReleaseZip", "200"): lambda api: api.up.get(f"{api.new_release()}/data.zip"),
    ("getReleaseZip", "404"): lambda api: api.up.get("/releases/1999.1/data.zip"),
    ("getReleaseZip", "422"): lambda api: api.up.get("/releases/v1/data.zip"),
    ("getReleaseZip", "503"): _down("GET", "/releases/2030.1/data.zip"),
    ("withdrawRelease", "200"): lambda api: api.up.post(
        f"{api.new_release()}/withdrawal", json=WITHDRAWAL, headers=bearer(api.admin)
    ),
    ("withdrawRelease", "401"): lambda api: api.up.post(
        f"{api.new_release()}/withdrawal", json=WITHDRAWAL
    ),
    ("withdrawRelease", "403"): lambda api: api.up.post(
        f"{api.new_release()}/withdrawal", json=WITHDRAWAL, headers=bearer(api.writer)
    ),
    ("withdrawRelease", "404"): lambda api: api.up.post(
        "/releases/1999.1/withdrawal", json=WITHDRAWAL, headers=bearer(api.admin)
    ),
    ("withdrawRelease", "409"): lambda api: _withdrawn_twice(api, api.new_release()),
    ("withdrawRelease", "413"): lambda api: api.up.post(
        f"{api.new_release()}/withdrawal", json={"reason": HUGE}, headers=bearer(api.admin)
    ),
    ("withdrawRelease", "422"): lambda api: api.up.post(
        f"{api.new_release()}/withdrawal", json={}, headers=bearer(api.admin)
    ),
    ("withdrawRelease", "503"): _down("POST", "/releases/2030.1/withdrawal", json=WITHDRAWAL),
}


def _source(id_: str, **overrides: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "title": "Statement of the Serbian presidency",
        "kind": "official_statement",
        "published_on": "2023-04-12",
        "verification_status": "verified",
        **overrides,
    }


def _documented() -> list[tuple[str, str]]:
    spec = json.loads(COMMITTED.read_text(encoding="utf-8"))
    return [
        (operation["operationId"], status)
        for item in spec["paths"].values()
        for operation in item.values()
        for status in operation["responses"]
    ]


def test_status_table_covers_exactly_the_documented_statuses() -> None:
    documented = _documented()
    assert len(documented) == len(set(documented))
    assert sorted(STATUSES) == sorted(documented)
    for where, entry in STATUSES.items():
        assert callable(entry) or len(entry) > 20, where


@pytest.fixture
def api(seeded_settings: Settings) -> Iterator[Api]:
    admin = make_key(seeded_settings, "status-admin", KeyScope.admin)
    writer = make_key(seeded_settings, "status-writer", KeyScope.write)
    with (
        running_server(seeded_settings.database_url) as up_base,
        running_server(
            UNREACHABLE, ready_path="/healthz", extra_env={"CP_DB_CONNECT_TIMEOUT": "1"}
        ) as down_base,
        httpx.Client(base_url=up_base, timeout=30) as up,
        httpx.Client(base_url=down_base, timeout=30) as down,
    ):
        yield Api(up=up, down=down, admin=admin, writer=writer)


def test_every_documented_status_is_reached(api: Api) -> None:
    failures: list[str] = []
    for (operation, status), entry in STATUSES.items():
        if isinstance(entry, str):
            continue
        response = entry(api)
        where = f"{operation} {status}: {response.request.method} {response.request.url}"
        if response.status_code != int(status):
            failures.append(f"{where} answered {response.status_code}: {response.text[:300]}")
        elif status.startswith(("4", "5")):
            try:
                assert_problem(response, int(status))
            except AssertionError as exc:
                failures.append(f"{where} is not a problem document: {exc}")
    assert not failures, "\n".join(failures)
