"""Schemathesis against the live service, on both backends: every operation of the committed
contract (docs/openapi.json), positive and negative data, every check schemathesis has.

One server per backend serves the whole module, on a seeded database of its own plus an
admin key the fuzzer sends with every request, so writes are exercised past their key check
(`ignored_auth` still probes each operation without it). The fuzzer's writes change that
database as it goes: which branches a run reaches depends on the order operations run in,
and nothing here asserts on the data.

A bounded, derandomized run (25 examples per operation) is part of the normal suite, about
15 s a backend; `CP_FUZZ=1` (`make fuzz`) runs 500 a operation with a random seed, about
2 minutes a backend.

KNOWN_FINDINGS lists what a run finds that the app does not fix yet (none today); only
failures matching an entry would be tolerated.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
import schemathesis.checks
from hypothesis import HealthCheck, settings
from schemathesis import Case, CheckFunction
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.core.transport import Response

from app import migrating
from app.http.openapi_export import COMMITTED
from app.settings import Settings
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.factories import load_seed_folder, make_key
from tests.servers import running_server

FUZZ = os.environ.get("CP_FUZZ") == "1"
MAX_EXAMPLES = 500 if FUZZ else 25

# Every check schemathesis has, run. test_every_check_is_run_or_excluded fails when an
# upgrade brings a new one, so someone decides whether it fits.
CHECK_NAMES = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",  # vacuous until responses document headers (F9)
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",  # minus the refusals the schema cannot express, see below
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "ignored_auth",
    # Vacuous here, kept so they start to bite when their preconditions appear: the first
    # two follow resources across stateful steps (the contract has no `links` yet), the
    # last replays one identity's reads as another (one key here, and all data is public).
    "use_after_free",
    "ensure_resource_availability",
    "object_level_authorization",
)
# Name -> why it is not run. None is excluded: `max_response_time` is not a registered
# check unless configured, and timings are for bench/, never asserted (STYLE §9).
EXCLUDED_CHECKS: dict[str, str] = {}


def _check_functions() -> list[CheckFunction]:
    load_all_checks()
    return [getattr(schemathesis.checks, name) for name in CHECK_NAMES]


CHECK_FUNCTIONS = _check_functions()
POSITIVE_DATA_ACCEPTANCE: CheckFunction = schemathesis.checks.positive_data_acceptance

# Once PATCH and DELETE declare their required If-Match (F8), leaving it out is a 428.
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "missing_required_header": {
                "expected-statuses": ["400", "401", "403", "406", "415", "422", "428"]
            }
        }
    }
)
schema = schemathesis.openapi.from_path(COMMITTED, config=CONFIG)


@dataclass(frozen=True)
class Finding:
    """Failures a run produces today for a reported, not yet fixed reason."""

    id: str  # as in test_contract_findings.py
    codes: frozenset[str]  # schemathesis failure codes: ST101 server error, ...
    statuses: frozenset[int]  # response statuses it shows up on


def _finding(id_: str, codes: set[str], statuses: set[int]) -> Finding:
    return Finding(id=id_, codes=frozenset(codes), statuses=frozenset(statuses))


# F1: ids above 2**31-1 overflow PostgreSQL's INTEGER columns: 500.
F1 = _finding("F1", {"ST101", "ST103"}, {500})
# F2: as_of=0 (unix time) or a datetime is accepted as a date.
F2 = _finding("F2", {"ST201"}, {200, 201})
# F3: POST /sources and /assessments accept "" for minLength-1 fields, storing null.
F3 = _finding("F3", {"ST201"}, {201})
# F4: a 405's Allow lists only one route's methods.
F4 = _finding("F4", {"ST205"}, {405})
# F5: `format` is a free string; anything but json/csv/ndjson is a 406.
F5 = _finding("F5", {"ST202"}, {406})
# F6: PATCH bodies document null for fields that cannot be cleared: 422.
F6 = _finding("F6", {"ST202"}, {422})
# F7: a body that is not UTF-8 is FastAPI's undocumented 400.
F7 = _finding("F7", {"ST103"}, {400})
# F16: NUL (U+0000) in text is a 500 on PostgreSQL (found by the CP_FUZZ=1 run).
F16 = _finding("F16", {"ST101", "ST103"}, {500})

ALL = "*"
ASSESSMENT = "/assessments/{assessment_id}"
# (operation label, backend or ALL) -> what a run may find there today.
# Every finding so far is fixed (see test_contract_findings.py); a new one goes here with
# its test until the app is fixed.
KNOWN_FINDINGS: dict[tuple[str, str], tuple[Finding, ...]] = {}


def _known(operation: str, backend: str) -> tuple[Finding, ...]:
    return KNOWN_FINDINGS.get((operation, backend), ()) + KNOWN_FINDINGS.get((operation, ALL), ())


def _tolerate_known(group: FailureGroup, case: Case[Any], status: int, backend: str) -> None:
    """Re-raise `group` unless every failure in it is a known finding."""
    known = _known(case.operation.label, backend)
    for failure in group.exceptions:
        if not any(failure.code in f.codes and status in f.statuses for f in known):
            raise group


def _refused_for_a_documented_reason(case: Case[Any], response: Response) -> bool:
    """A 422 for data each field's schema allows, but the operation documents refusing:
    references to ids that do not exist (relay hops included), dates after today (a bound
    that moves every day), a source's coverage listing more countries than it counts, and
    two lower-case letters that name no ISO 639-1 language. OpenAPI cannot
    express them, so positive_data_acceptance is not asked about exactly those answers
    (told apart by their error types). Query parameters have no such case: every
    combination the schema allows is answered (issue 12)."""
    if response.status_code != 422:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    errors = (body.get("errors") if isinstance(body, dict) else None) or []
    # coverage_count: a source's `coverage.known` longer than its `count` (issue 13).
    # language_code: `xq` matches the pattern but names no language (issue 19).
    documented = {"reference", "date_in_future", "coverage_count", "language_code"}
    return bool(errors) and all(error.get("type") in documented for error in errors)


@dataclass
class Live:
    """The server under test, the admin key it accepts, and one HTTP session for both."""

    base: str
    key: str
    session: requests.Session = field(default_factory=requests.Session)

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def etag(self, path: str) -> str | None:
        """The current ETag of `path`, if it is there to read."""
        response = self.session.get(self.base + path, headers=self.auth())
        return response.headers.get("ETag") if response.status_code == 200 else None


def _prepare(url: str) -> str:
    """Seed the database and store an admin key; return the key."""
    settings = Settings(database_url=url)
    load_seed_folder(settings)
    return make_key(settings, "fuzzer")


@pytest.fixture(scope="module")
def live(
    backend: str, migrated_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """A server on a database of its own, not the per-test one other tests reset."""
    if backend == "sqlite":
        copy = tmp_path_factory.mktemp("fuzz") / "db.sqlite3"
        shutil.copyfile(migrated_database, copy)
        url = f"sqlite:///{copy}"
    else:
        url = create_postgres_database("cp_fuzz")
        migrating.upgrade(Settings(database_url=url))
    try:
        key = _prepare(url)
        with running_server(url) as base:
            target = Live(base=base, key=key)
            yield target
            target.session.close()
    finally:
        if backend == "postgres":
            drop_postgres_database(url)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    # The bounded run is the same every time; the long one explores anew (hypothesis prints
    # the seed to reproduce whatever it finds).
    derandomize=not FUZZ,
    deadline=None,
    database=None,  # what earlier runs found never changes what this one generates
    # A real server is slow next to data generation; the health checks would only say so.
    suppress_health_check=list(HealthCheck),
)
def test_operation_conforms_to_contract(case: Case[Any], live: Live, backend: str) -> None:
    headers = live.auth()
    if case.method in ("PATCH", "DELETE"):
        # The contract does not declare If-Match (F8); sending the current ETag lets the
        # fuzzer reach the write itself instead of stopping at 428 every time.
        etag = live.etag(case.formatted_path)
        if etag is not None:
            headers["If-Match"] = etag
    response = case.call(base_url=live.base, headers=headers, session=live.session)
    excluded = (
        [POSITIVE_DATA_ACCEPTANCE] if _refused_for_a_documented_reason(case, response) else []
    )
    try:
        case.validate_response(
            response, checks=CHECK_FUNCTIONS, excluded_checks=excluded, headers=headers
        )
    except FailureGroup as group:
        _tolerate_known(group, case, response.status_code, backend)


def test_every_check_is_run_or_excluded() -> None:
    load_all_checks()
    assert sorted([*CHECK_NAMES, *EXCLUDED_CHECKS]) == sorted(CHECKS.get_all_names())
    assert not set(CHECK_NAMES) & set(EXCLUDED_CHECKS)


def _known_findings_problems(
    known: Mapping[tuple[str, str], tuple[Finding, ...]], findings_tests: str
) -> list[str]:
    """What is wrong with `known`: an operation the committed spec does not have, a backend
    that is not one, a finding no test in `findings_tests` names, or one that matches nothing."""
    labels = {r.ok().label for r in schema.get_all_operations() if isinstance(r, Ok)}
    problems = []
    for (operation, backend), findings in known.items():
        if operation not in labels:
            problems.append(f"{operation}: not an operation of the committed spec")
        if backend not in {"sqlite", "postgres", ALL}:
            problems.append(f"{operation}: {backend!r} is not a backend")
        for finding in findings:
            if not re.search(rf"\b{re.escape(finding.id)}\b", findings_tests):
                problems.append(f"{finding.id}: no test in test_contract_findings.py names it")
            if not finding.codes or not finding.statuses:
                problems.append(f"{finding.id}: matches no failure")
    return problems


def test_known_findings_name_real_operations_and_their_tests() -> None:
    findings_tests = (Path(__file__).parent / "test_contract_findings.py").read_text()
    assert _known_findings_problems(KNOWN_FINDINGS, findings_tests) == []
    # The check itself, on entries made up for it (KNOWN_FINDINGS is empty today).
    real = {("POST /sources", "postgres"): (F16,)}
    assert _known_findings_problems(real, findings_tests) == []
    made_up = {
        ("GET /nowhere", "mysql"): (_finding("F99", {"ST101"}, {500}),),
        ("GET /countries", "sqlite"): (_finding("F14", set(), {500}),),
    }
    assert _known_findings_problems(made_up, findings_tests) == [
        "GET /nowhere: not an operation of the committed spec",
        "GET /nowhere: 'mysql' is not a backend",
        "F99: no test in test_contract_findings.py names it",
        "F14: matches no failure",
    ]
