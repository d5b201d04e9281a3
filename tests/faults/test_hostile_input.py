"""Bad input, on both backends: whatever a client sends, the answer is a documented 2xx or a
4xx problem document, never a 500, never a traceback, and never a write it did not ask for.

Every test takes `client` (a seeded database), so it runs on SQLite and PostgreSQL. Each test
walks a table of cases and reports every failing one (`Failures`), through `api`: the same
app, answering a server error as a 500 response instead of raising it into the test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.settings import Settings
from tests.factories import CHART, SEED_ASSESSMENTS, bearer, dump_database, make_key
from tests.faults.failures import Failures, describe
from tests.problems import assert_problem

INVALID = "/problems/invalid-input"
TEN_KB = 10_000
VALID_ASSESSMENT: dict[str, Any] = {
    "country": "AT",
    "category": "training",
    "value": "yes",
    "source": CHART,
    "as_of": "2023-05-01",
    "evidence": "A hostile-input test recorded this.",
}
VALID_SOURCE: dict[str, Any] = {
    "id": "hostile-input-source",
    "title": "A source recorded by the hostile-input tests",
    "kind": "other",
    "verification_status": "unverified",
}
# The reads whose query takes `as_of` and `source` (and, for /countries, `q`).
DATED_READS = ["/countries", "/positions", "/stats", "/countries/RS/positions"]
PAGED_READS = ["/countries", "/positions", "/countries/RS/assessments"]

HYPOTHESIS = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# Any Unicode text a client can put on the wire (lone surrogates cannot be encoded).
ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=120)


@pytest.fixture
def api(client: TestClient) -> TestClient:
    """`client`'s app (seeded, lifespan running), but a server error comes back as the 500
    a user would see rather than as an exception, so one bad case does not hide the rest."""
    return TestClient(client.app, raise_server_exceptions=False)


@pytest.fixture
def admin_key(seeded_settings: Settings) -> str:
    return make_key(seeded_settings, "hostile-admin")


@pytest.fixture
def unchanged(seeded_settings: Settings, admin_key: str) -> Iterator[None]:
    """Assert the test leaves every table exactly as it found it (the key is made first)."""
    before = dump_database(seeded_settings)
    yield
    assert dump_database(seeded_settings) == before, "a refused request changed the database"


def assert_invalid(response: httpx.Response, *loc: str) -> dict[str, Any]:
    """A 422 problem with an entry in `errors` whose `loc` starts with `loc`."""
    body = assert_problem(response, 422, INVALID)
    if loc:
        where = [e["loc"] for e in body["errors"]]
        assert any(w[: len(loc)] == list(loc) for w in where), where
    return body


def assert_client_error(response: httpx.Response, *allowed: int) -> dict[str, Any]:
    """One of the `allowed` 4xx statuses, as a problem document."""
    assert response.status_code in allowed, f"status {response.status_code} not in {allowed}"
    return assert_problem(response, response.status_code)


# --- non-ASCII and over-long codes and ids ----------------------------------------------------


NOT_ASCII_CODES = [
    "/countries/ÄÖ",
    "/countries/%F0%9F%87%B7%F0%9F%87%B8",  # the flag emoji of Serbia
    "/countries/\uff32\uff33",  # fullwidth RS
    "/countries/\u0131t",  # dotless i: "\u0131t".upper() == "IT"
    "/countries/ÄÖ/positions",
    "/countries/🇷🇸/assessments",
    "/countries/%FF%FE",  # not UTF-8 at all
]


OVERLONG_SEGMENTS = [
    ("/countries/" + "A" * TEN_KB, "code"),
    ("/countries/" + "R" * TEN_KB + "/positions", "code"),
    ("/countries/" + "s" * TEN_KB + "/assessments", "code"),
    ("/sources/" + "a" * TEN_KB, "source_id"),
    ("/assessments/" + "9" * TEN_KB, "assessment_id"),
    ("/assessments/" + "1" * TEN_KB + "/history", "assessment_id"),
    ("/categories/" + "t" * TEN_KB, "key"),
]
NUL_OR_CONTROL_IN_IDS: list[tuple[str, dict[str, str]]] = [
    ("/countries/R%00", {}),
    ("/countries/RS%00/positions", {}),
    ("/countries/%1B%5B", {}),
    ("/countries/R%7FS", {}),
    ("/sources/us-europe-response-chart-2023%00", {}),
    ("/assessments/1%00", {}),
    ("/assessments/%00", {}),
    ("/categories/training%00", {}),
    ("/categories/%00%01%02", {}),
    ("/countries/RS/positions", {"source": CHART + "\x00"}),
    ("/countries/RS/positions", {"as_of": "2023-03-02\x00"}),
    ("/positions", {"format": "csv\x00"}),
    ("/positions", {"reported": "true\x00"}),
    ("/changes", {"since": "1\x00"}),
]


def test_codes_and_ids_not_ascii_overlong_or_with_control_characters_are_4xx(
    api: TestClient,
) -> None:
    failures = Failures()
    for path in NOT_ASCII_CODES:
        response = api.get(path)
        with failures.case(describe(response)):
            assert_invalid(response, "path", "code")
    for path, field in OVERLONG_SEGMENTS:
        response = api.get(path)
        with failures.case(describe(response)):
            body = assert_invalid(response, "path", field)
            assert len(body["detail"]) < 1_000, "the detail echoes the input"
    for path, name in [(path, "source") for path in DATED_READS] + [("/countries", "q")]:
        response = api.get(path, params={name: "a" * TEN_KB})
        with failures.case(describe(response)):
            assert_invalid(response, "query", name)
    for path, params in NUL_OR_CONTROL_IN_IDS:
        response = api.get(path, params=params)
        with failures.case(describe(response)):
            assert_client_error(response, 404, 406, 422)
    query = "&".join(f"p{i}=x" for i in range(2_000))
    response = api.get(f"/countries?{query}")
    with failures.case(describe(response)):
        body = assert_invalid(response)
        assert len(body["errors"]) == 2_000
        assert {e["type"] for e in body["errors"]} == {"unknown_parameter"}
    failures.check()


# --- SQL-looking input ---------------------------------------------------------------------


SQL_LOOKING_REFUSED: list[tuple[str, dict[str, str]]] = [
    ("/countries/RS'--", {}),
    ("/countries/RS';DROP TABLE countries;--/positions", {}),
    ("/sources/x'; DROP TABLE sources;--", {}),
    ("/countries", {"source": "x'; DROP TABLE sources;--"}),
    ("/positions", {"source": "x'; DROP TABLE sources;--"}),
    ("/stats", {"source": "' OR '1'='1"}),
    ("/countries/RS/positions", {"source": "x'; DROP TABLE sources;--"}),
    ("/countries/RS/positions", {"as_of": "2023-03-02'; DROP TABLE assessments;--"}),
    ("/positions", {"category": "training' OR 1=1 --", "value": "yes"}),
    ("/changes", {"since": "0; DELETE FROM changes"}),
]
# `q` is free text: these match nothing (LIKE wildcards are escaped) and change nothing.
SQL_LOOKING_SEARCHES = [
    "' OR 1=1 --",
    "'; DROP TABLE countries; --",
    "serbia' UNION SELECT code, code, code, code, code FROM countries --",
    "%",
    "_",
    "%%",
    "\\",
    "\\%",
    "[a-z]",
    "*",
]


def test_sql_looking_input_is_refused_inert_or_stored_verbatim(
    api: TestClient, seeded_settings: Settings, admin_key: str
) -> None:
    before = dump_database(seeded_settings)
    failures = Failures()
    for path, params in SQL_LOOKING_REFUSED:
        response = api.get(path, params=params)
        with failures.case(describe(response)):
            assert_client_error(response, 422)
    for needle in SQL_LOOKING_SEARCHES:
        response = api.get("/countries", params={"q": needle})
        with failures.case(describe(response)):
            assert response.status_code == 200
            assert response.json()["total"] == 0
    response = api.get("/categories/training' OR '1'='1")
    with failures.case(describe(response)):
        assert_client_error(response, 404)
    failures.check()
    after = dump_database(seeded_settings)
    assert sorted(after) == sorted(before)  # every table still exists ...
    assert after == before  # ... with exactly the rows it had
    assert len(after["countries"]) == 39 and len(after["sources"]) == 19
    # In a body, it is text like any other: stored and read back as sent.
    evidence = "Robert'); DROP TABLE assessments; -- \" OR 1=1; /* */ \\x27"
    created = api.post(
        "/assessments", json={**VALID_ASSESSMENT, "evidence": evidence}, headers=bearer(admin_key)
    )
    assert created.status_code == 201, created.text
    assert api.get(created.headers["Location"]).json()["evidence"] == evidence
    tables = dump_database(seeded_settings)
    assert len(tables["assessments"]) == SEED_ASSESSMENTS + 1 and len(tables["countries"]) == 39


# --- NUL bytes and control characters ------------------------------------------------------


def test_nul_or_control_characters_in_q_match_nothing_or_are_422(api: TestClient) -> None:
    """No country name holds a NUL or a control character. Regression: PostgreSQL refuses
    NUL in text parameters (psycopg DataError -> 500), and SQLite's LIKE stops at the NUL,
    so `q=%00` listed every country."""
    failures = Failures()
    for q in ["\x00", "RS\x00", "ser\x00bia", "\x00%"]:
        response = api.get("/countries", params={"q": q})
        with failures.case(describe(response)):
            if response.status_code == 200:
                assert response.json()["total"] == 0
            else:
                assert_invalid(response, "query", "q")
    for q in ["\x01", "\x1b[31m", "\t", "\r\n", "\x7f", "\u200b", "\ufeff"]:
        response = api.get("/countries", params={"q": q})
        with failures.case(describe(response)):
            assert response.status_code == 200
            assert response.json()["total"] == 0
    failures.check()


def test_problem_instance_is_the_request_path_with_tab_or_newline(api: TestClient) -> None:
    """`instance` is the request path (STYLE §5). Regression: Starlette's `request.url`
    parses the URL with `urlsplit`, which silently drops tab, CR and LF, so the instance
    of `/countries/R%0AS` read `/countries/RS`."""
    failures = Failures()
    for path in ["/countries/R%0AS", "/countries/%09", "/sources/a%0Db"]:
        response = api.get(path)
        with failures.case(describe(response)):
            assert_invalid(response, "path")
    failures.check()


NUL_IN_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("/assessments", {**VALID_ASSESSMENT, "evidence": "before\x00after"}),
    ("/assessments", {**VALID_ASSESSMENT, "note": "\x00"}),
    ("/sources", {**VALID_SOURCE, "title": "Title\x00"}),
    ("/sources", {**VALID_SOURCE, "publisher": "\x00"}),
    ("/sources", {**VALID_SOURCE, "classification": "SECRET\x00"}),
    ("/sources", {**VALID_SOURCE, "url": "https://example.org/\x00"}),
]


@pytest.mark.usefixtures("unchanged")
def test_nul_byte_in_written_text_is_422_and_writes_nothing(
    api: TestClient, admin_key: str
) -> None:
    """The seed loader refuses a NUL ("contains a NUL byte"); the API validates writes with
    the same row models, so it must too. Regression: PostgreSQL answered 500 (psycopg
    DataError: text fields cannot contain NUL), SQLite stored the NUL."""
    failures = Failures()
    for path, body in NUL_IN_BODIES:
        response = api.post(path, json=body, headers=bearer(admin_key))
        with failures.case(describe(response)):
            assert_invalid(response, "body")
    # Regression: the retraction note (a query parameter) had no NUL check either.
    etag = api.get("/assessments/1").headers["ETag"]
    headers = bearer(admin_key, **{"If-Match": etag})
    response = api.delete("/assessments/1", params={"note": "a\x00b"}, headers=headers)
    with failures.case(describe(response)):
        assert_invalid(response, "query", "note")
    failures.check()


# --- limit and offset ----------------------------------------------------------------------


BAD_PAGE_VALUES = [
    ("limit", "0"),
    ("limit", "-1"),
    ("limit", "501"),
    ("limit", str(10**30)),
    ("limit", "1e3"),
    ("limit", ""),
    ("limit", "NaN"),
    ("limit", "Infinity"),
    ("limit", "0x10"),
    ("offset", "-1"),
    ("offset", "1000001"),
    ("offset", str(10**30)),
    ("offset", str(-(10**30))),
    ("offset", "1e3"),
    ("offset", ""),
    ("offset", "-0.5"),
]
BAD_FEED_VALUES = [
    ("limit", "0"),
    ("limit", "1001"),
    ("limit", str(10**30)),
    ("since", "-1"),
    ("since", str(10**30)),
    ("since", ""),
    ("since", "1e3"),
]


def test_page_parameters_out_of_range_or_malformed_are_422(api: TestClient) -> None:
    failures = Failures()
    cases = [(path, name, value) for path in PAGED_READS for name, value in BAD_PAGE_VALUES]
    cases += [("/changes", name, value) for name, value in BAD_FEED_VALUES]
    for path, name, value in cases:
        response = api.get(path, params={name: value})
        with failures.case(describe(response)):
            assert_invalid(response, "query", name)
    for path in PAGED_READS:
        response = api.get(path, params={"offset": 1_000_000, "limit": 500})
        with failures.case(describe(response)):
            assert response.status_code == 200
            assert response.json()["items"] == []
    failures.check()


# --- dates ---------------------------------------------------------------------------------


IMPOSSIBLE_DATES = [
    "2023-02-30",
    "2023-02-29",
    "0000-01-01",
    "99999-01-01",
    "2023-13-01",
    "2023-00-10",
    "2023-03-02T12:00:00",
    "2023-3-2",
    "",
    "yesterday",
    "-2023-03-02",
    "\uff12\uff10\uff12\uff13-\uff10\uff13-\uff10\uff12",  # fullwidth digits
]
# Real dates, but not written YYYY-MM-DD as documented.
NOT_ISO_DATES = ["2023-03-02T00:00:00", "2023-03-02T00:00:00Z", "1677715200", "0"]


def test_impossible_as_of_is_422_and_extreme_real_one_200(api: TestClient) -> None:
    failures = Failures()
    for path in DATED_READS:
        for as_of in IMPOSSIBLE_DATES:
            response = api.get(path, params={"as_of": as_of})
            with failures.case(describe(response)):
                assert_invalid(response, "query", "as_of")
        for as_of in ["0001-01-01", "9999-12-31", "2024-02-29"]:  # extreme but real
            response = api.get(path, params={"as_of": as_of})
            with failures.case(describe(response)):
                assert response.status_code == 200
    failures.check()
    before_everything = api.get("/countries/RS/positions", params={"as_of": "0001-01-01"})
    assert [p["value"] for p in before_everything.json()["positions"]] == ["unknown"] * 4


def test_as_of_not_written_yyyy_mm_dd_is_422(api: TestClient) -> None:
    """`as_of` is documented as YYYY-MM-DD, and written dates must be exactly that
    (`app.schemas.iso_date_text`). Regression: pydantic's lax date parsing read a midnight
    timestamp as its date and a bare number as Unix seconds (`as_of=0` was 1970-01-01)."""
    failures = Failures()
    for path in DATED_READS:
        for as_of in NOT_ISO_DATES:
            response = api.get(path, params={"as_of": as_of})
            with failures.case(describe(response)):
                assert_invalid(response, "query", "as_of")
    failures.check()


# --- repeated and unknown parameters (refused by design) --------------------------------------


REPEATED_OR_UNKNOWN = [
    ("/countries?limit=1&limit=2", "limit", "repeated_parameter"),
    ("/countries?limit=1&limit=1", "limit", "repeated_parameter"),
    ("/positions?as_of=2023-01-01&as_of=2023-03-02", "as_of", "repeated_parameter"),
    ("/countries/RS/positions?source=a&source=b", "source", "repeated_parameter"),
    ("/countries?catgory=x", "catgory", "unknown_parameter"),
    ("/countries?Limit=1", "Limit", "unknown_parameter"),
    ("/countries?limit[]=1", "limit[]", "unknown_parameter"),
    ("/countries/RS?as_of=2023-01-01", "as_of", "unknown_parameter"),
    ("/countries?%00=1", "\x00", "unknown_parameter"),
]


def test_repeated_or_unknown_query_parameter_is_422(api: TestClient) -> None:
    failures = Failures()
    for url, name, kind in REPEATED_OR_UNKNOWN:
        response = api.get(url)
        with failures.case(describe(response)):
            body = assert_invalid(response, "query", name)
            assert [e["type"] for e in body["errors"]] == [kind]
    failures.check()


# --- request bodies ------------------------------------------------------------------------


MALFORMED_JSON = [
    b"{",
    b'{"country": }',
    b'{"country": "AT",}',
    b"{'country': 'AT'}",
    b'{"country": "AT"',
    b'{"a": 1}{"b": 2}',
    b'{"country" "AT"}',
    b"nul",
    b"\x00",
    b"\x1b[2J",
]
NOT_AN_OBJECT = [b"[]", b"[1, 2]", b"1", b"-1e999", b'"AT"', b"null", b"true", b'[{"a": 1}]']
INVALID_UTF8 = [
    b'{"country": "\xff\xfe"}',
    b"\xff\xfe\x00",
    b'{"evidence": "\xc3\x28"}',
    b'{"evidence": "\xed\xa0\x80"}',  # a UTF-16 surrogate, CESU-8 style
    b'{"evidence": "\xf4\x90\x80\x80"}',  # beyond U+10FFFF
    b'{"evidence": "\\ud800"}',  # a lone surrogate, escaped
]
DEEPLY_NESTED = [
    b"[" * 10_000 + b"]" * 10_000,
    b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    b'{"country": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    b"[" * 10_000,  # deep and unterminated
]
JSON = {"Content-Type": "application/json"}


WRONG_CONTENT_TYPES: list[tuple[str | None, bytes]] = [
    ("text/plain", json.dumps(VALID_ASSESSMENT).encode()),
    ("application/x-www-form-urlencoded", b"country=AT&category=training&value=yes"),
    (None, json.dumps(VALID_ASSESSMENT).encode()),
    ("application/xml", b"<assessment country='AT'/>"),
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\n1\r\n--x--"),
    ("application/json; charset=latin-1", '{"country": "\u00c4"}'.encode("latin-1")),
    ("image/png", b"\x89PNG\r\n\x1a\n"),
]
INVALID_FIELDS: list[dict[str, Any]] = [
    {**VALID_ASSESSMENT, "evidence": "x" * 4_001},
    {**VALID_ASSESSMENT, "evidence": ""},
    {**VALID_ASSESSMENT, "country": "A" * TEN_KB},
    {**VALID_ASSESSMENT, "source": "s" * TEN_KB},
    {**VALID_ASSESSMENT, "as_of": "2023-02-30"},
    {**VALID_ASSESSMENT, "as_of": 1677715200},
    {**VALID_ASSESSMENT, "value": "unknown"},
    {**VALID_ASSESSMENT, "country": "\u00c4\u00d6"},
    {**VALID_ASSESSMENT, "country": ["AT"]},
    {**VALID_ASSESSMENT, "evidence": {"$gt": ""}},
    {**VALID_ASSESSMENT, "extra": "field"},
]


@pytest.mark.usefixtures("unchanged")
def test_bad_request_bodies_are_4xx_and_write_nothing(api: TestClient, admin_key: str) -> None:
    """Malformed JSON, JSON that is not an object, wrong content types, 10 000 levels of
    nesting, invalid UTF-8, huge bodies (declared or streamed) and invalid fields."""

    def post(
        body: bytes | Iterator[bytes], content_type: str | None = "application/json"
    ) -> httpx.Response:
        headers = bearer(admin_key)
        if content_type is not None:
            headers["Content-Type"] = content_type
        response: httpx.Response = api.post("/assessments", content=body, headers=headers)
        return response

    def chunks() -> Iterator[bytes]:
        yield b'{"evidence": "'
        for _ in range(200):
            yield b"x" * 10_000
        yield b'"}'

    failures = Failures()
    for body in MALFORMED_JSON + INVALID_UTF8 + DEEPLY_NESTED:
        response = post(body)
        with failures.case(f"{body[:40]!r}: {describe(response)}"):
            assert_client_error(response, 400, 422)
    for body in NOT_AN_OBJECT:
        response = post(body)
        with failures.case(f"{body[:40]!r}: {describe(response)}"):
            assert_invalid(response, "body")
    for content_type, body in WRONG_CONTENT_TYPES:
        response = post(body, content_type)
        with failures.case(f"Content-Type {content_type}: {describe(response)}"):
            assert_client_error(response, 400, 415, 422)
    for size in [70_000, 5_000_000]:
        response = post(json.dumps({**VALID_ASSESSMENT, "evidence": "x" * size}).encode())
        with failures.case(describe(response)):
            assert_problem(response, 413, "/problems/payload-too-large")
    response = post(chunks())  # streamed (chunked): no Content-Length announces the size
    with failures.case(f"streamed: {describe(response)}"):
        assert_problem(response, 413, "/problems/payload-too-large")
    for fields in INVALID_FIELDS:
        response = api.post("/assessments", json=fields, headers=bearer(admin_key))
        with failures.case(describe(response)):
            assert_invalid(response, "body")
    failures.check()


HOSTILE_AUTHORIZATION = [
    "Bearer " + "x" * TEN_KB,
    "Bearer cpk_" + "x" * TEN_KB,
    "Bearer",
    "Bearer   ",
    "Basic Zm9vOmJhcg==",
    "Bearer cpk_%00",
    "Bearer ' OR 1=1 --",
]
HOSTILE_READ_HEADERS = [
    {"Accept": "\x01"},
    {"Accept": "text/csv;q=abc"},
    {"Accept": "*/*;q=" + "9" * 1_000},
    {"If-None-Match": "\x7f" * 1_000},
    {"If-None-Match": "*"},
    {"Accept-Encoding": "gzip;q=x, br;q=NaN"},
    {"Origin": "null"},
    {"Origin": "http://" + "a" * TEN_KB},
]


@pytest.mark.usefixtures("unchanged")
def test_hostile_headers_are_401_on_writes_and_200_or_406_on_reads(api: TestClient) -> None:
    failures = Failures()
    for authorization in HOSTILE_AUTHORIZATION:
        headers = {"Authorization": authorization}
        response = api.post("/assessments", json=VALID_ASSESSMENT, headers=headers)
        with failures.case(describe(response)):
            assert_problem(response, 401, "/problems/unauthorized")
    for headers in HOSTILE_READ_HEADERS:
        response = api.get("/positions", headers=headers)
        with failures.case(f"{headers}: {describe(response)}"):
            if response.status_code not in (200, 304):
                assert_client_error(response, 406)
    failures.check()


# --- property tests ------------------------------------------------------------------------


def documented_statuses(api: TestClient, *templates: str) -> set[int]:
    """The 2xx and 4xx statuses the served OpenAPI document lists for these GET operations."""
    paths = api.get("/openapi.json").json()["paths"]
    return {
        int(status)
        for template in templates
        for status in paths[template]["get"]["responses"]
        if status.startswith(("2", "4"))
    }


def assert_documented(response: httpx.Response, allowed: set[int]) -> None:
    """A documented status; a 4xx is a problem document (as `assert_problem` checks it,
    except that `instance` may keep some characters percent-encoded, as Starlette does `?`)."""
    assert response.status_code in allowed, describe(response)
    if response.status_code < 400:
        return
    assert response.headers["content-type"] == "application/problem+json", describe(response)
    body = response.json()
    assert body["status"] == response.status_code, describe(response)
    assert isinstance(body["title"], str) and body["title"], describe(response)
    assert isinstance(body["detail"], str) and body["detail"], describe(response)
    path, instance = response.request.url.path, body["instance"]
    assert path in (instance, unquote(instance)), f"instance is not {path!r}: {describe(response)}"
    assert "Traceback" not in response.text


COUNTRY_TEMPLATES = ("/countries/{code}", "/countries/{code}/positions", "/countries")


def test_arbitrary_text_as_country_code_is_a_documented_status(api: TestClient) -> None:
    allowed = documented_statuses(api, *COUNTRY_TEMPLATES)
    assert not any(status >= 500 for status in allowed)

    @HYPOTHESIS
    @given(
        code=ANY_TEXT.filter(lambda s: s not in ("", ".", "..")),
        suffix=st.sampled_from(["", "/positions"]),
    )
    def check(code: str, suffix: str) -> None:
        assert_documented(api.get(f"/countries/{quote(code, safe='')}{suffix}"), allowed)

    check()


QUERY_TEXT = st.one_of(
    ANY_TEXT,
    st.sampled_from(["2023-03-02", CHART, "rs", "serb", "\x00", "%", "0001-01-01", "9999-12-31"]),
)
QUERY_TARGETS = [
    ("/countries", "/countries", ("q", "as_of", "source")),
    ("/countries/RS/positions", "/countries/{code}/positions", ("as_of", "source")),
    ("/positions", "/positions", ("as_of", "source")),
    ("/stats", "/stats", ("as_of", "source")),
]


def check_query_parameters(api: TestClient, path: str, template: str, names: Sequence[str]) -> None:
    allowed = documented_statuses(api, template)

    @HYPOTHESIS
    @given(params=st.fixed_dictionaries({}, optional=dict.fromkeys(names, QUERY_TEXT)))
    def check(params: dict[str, str]) -> None:
        assert_documented(api.get(path, params=params), allowed)

    check()


def test_arbitrary_text_in_query_parameters_is_a_documented_status(api: TestClient) -> None:
    for path, template, names in QUERY_TARGETS:
        check_query_parameters(api, path, template, names)
