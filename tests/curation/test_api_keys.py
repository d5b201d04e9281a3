"""API keys: shown once, stored as a hash, revocable; 401/403 with Bearer challenges on
writes; reads public unless CP_REQUIRE_KEY_FOR_READS, with the health probes always open."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api_keys.service import revoke_key
from app.cli import main
from app.db import make_engine, make_sessionmaker
from app.main import create_app
from app.settings import Settings, get_settings
from tests.curation.conftest import DISSENT, NEW_SOURCE, STATEMENT, Keys, all_changes
from tests.factories import CHART, bearer, dump_database
from tests.problems import assert_problem
from tests.servers import ROOT

KEY_FORMAT = re.compile(r"cpk_(?P<prefix>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})")
CHALLENGE = 'Bearer realm="country-positions"'
INVALID_TOKEN = f'{CHALLENGE}, error="invalid_token"'
INSUFFICIENT_SCOPE = f'{CHALLENGE}, error="insufficient_scope"'
# A seed assessment (Serbia, training, per the chart): the first row of assessments.csv.
SEED_ASSESSMENT = "/assessments/1"
READ_PATHS = [
    "/positions",
    "/stats",
    "/countries",
    "/countries/RS",
    "/countries/RS/positions",
    "/countries/RS/assessments",
    "/categories",
    "/categories/lethal_aid",
    "/sources",
    f"/sources/{CHART}",
    SEED_ASSESSMENT,
    f"{SEED_ASSESSMENT}/history",
    "/changes",
]


@dataclass(frozen=True)
class Write:
    method: str
    path: str
    json: dict[str, Any]
    headers: dict[str, str]


# Every write the API offers, each valid apart from its credentials.
WRITES = [
    Write("POST", "/sources", NEW_SOURCE, {}),
    Write(
        "PATCH", f"/sources/{CHART}", {"verification_note": "Still unverified."}, {"If-Match": "*"}
    ),
    Write("POST", "/assessments", {**DISSENT, "source": CHART}, {}),
    Write("PATCH", SEED_ASSESSMENT, {"note": "Reviewed."}, {"If-Match": "*"}),
    Write("DELETE", SEED_ASSESSMENT, {}, {"If-Match": "*"}),
]
WRITE_IDS = [f"{w.method} {w.path}" for w in WRITES]


def send(client: httpx.Client, write: Write, headers: dict[str, str]) -> httpx.Response:
    return client.request(
        write.method,
        write.path,
        json=write.json or None,
        headers={**write.headers, **headers},
    )


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


Cli = Callable[..., CliResult]


@pytest.fixture
def cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Cli]:
    """`country-positions keys ...` in-process, against this test's database."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    get_settings.cache_clear()

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main(["keys", *args])
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    yield run
    get_settings.cache_clear()


def key_parts(key: str) -> re.Match[str]:
    match = KEY_FORMAT.fullmatch(key)
    assert match, f"not a key: {key!r}"
    return match


def stored_key_rows(settings: Settings) -> list[tuple[Any, ...]]:
    return dump_database(settings)["api_keys"]


# --- the CLI -------------------------------------------------------------------------------


def test_keys_create_prints_the_key_once_and_stores_only_its_hash(
    cli: Cli, settings: Settings
) -> None:
    result = cli("create", "--name", "alice", "--scope", "admin")
    assert result.code == 0
    key = result.out.removesuffix("\n")
    match = key_parts(key)
    assert result.out == f"{key}\n"
    assert result.err == "created key 'alice' (scope admin); it is shown only this once\n"
    rows = stored_key_rows(settings)
    assert len(rows) == 1
    stored = [str(value) for value in rows[0]]
    assert hashlib.sha256(key.encode()).hexdigest() in stored
    assert match["prefix"] in stored
    assert not any(key in value or match["secret"] in value for value in stored)


def test_keys_create_defaults_to_write_scope_and_each_key_differs(cli: Cli) -> None:
    first = cli("create", "--name", "one")
    second = cli("create", "--name", "two")
    assert first.err == "created key 'one' (scope write); it is shown only this once\n"
    assert first.out != second.out
    assert KEY_FORMAT.fullmatch(first.out.strip()) and KEY_FORMAT.fullmatch(second.out.strip())


def test_keys_list_shows_names_scopes_and_prefixes_never_keys(cli: Cli) -> None:
    alice = cli("create", "--name", "alice", "--scope", "admin").out.strip()
    bob = cli("create", "--name", "bob").out.strip()
    assert cli("revoke", "bob").code == 0
    result = cli("list")
    assert result.code == 0 and result.err == ""
    lines = result.out.splitlines()
    assert re.fullmatch(r"name +scope +prefix +created +revoked", lines[0])
    assert len(lines) == 3
    alice_prefix, bob_prefix = key_parts(alice)["prefix"], key_parts(bob)["prefix"]
    assert re.fullmatch(rf"alice +admin +{alice_prefix} +\d{{4}}-\d\d-\d\dT\S+ +-", lines[1])
    assert re.fullmatch(rf"bob +write +{bob_prefix} +\d{{4}}-\d\d-\d\dT\S+ +\d{{4}}-\S+", lines[2])
    for key in (alice, bob):
        assert key not in result.out
        assert key_parts(key)["secret"] not in result.out


def test_keys_revoke_makes_the_key_fail_with_401(
    cli: Cli, client: TestClient, seeded_settings: Settings
) -> None:
    key = cli("create", "--name", "alice", "--scope", "admin").out.strip()
    source = client.post("/sources", json=NEW_SOURCE, headers=bearer(key))
    assert source.status_code == 201, source.text
    result = cli("revoke", "alice")
    assert (result.code, result.out, result.err) == (0, "revoked key 'alice'\n", "")
    before = dump_database(seeded_settings)
    response = client.post("/assessments", json=DISSENT, headers=bearer(key))
    body = assert_problem(response, 401, "/problems/unauthorized")
    assert body["detail"] == "The API key is not valid (unknown or revoked)."
    assert response.headers["WWW-Authenticate"] == INVALID_TOKEN
    assert dump_database(seeded_settings) == before
    # Revoking again is harmless.
    assert cli("revoke", "alice").code == 0


def test_keys_create_duplicate_name_exits_1_and_stores_nothing(
    cli: Cli, settings: Settings
) -> None:
    assert cli("create", "--name", "alice").code == 0
    rows = stored_key_rows(settings)
    result = cli("create", "--name", "alice", "--scope", "admin")
    assert (result.code, result.out) == (1, "")
    assert result.err == "error: A key named 'alice' already exists.\n"
    assert stored_key_rows(settings) == rows


@pytest.mark.parametrize("name", ["", "   ", "x" * 101], ids=["empty", "blank", "over-100"])
def test_keys_create_unusable_name_exits_1_and_stores_nothing(
    cli: Cli, settings: Settings, name: str
) -> None:
    """The name is what the change log records as the actor: it must be there and fit."""
    result = cli("create", "--name", name)
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith("error: ") and "Traceback" not in result.err
    assert stored_key_rows(settings) == []


def test_keys_revoke_unknown_name_exits_1(cli: Cli) -> None:
    result = cli("revoke", "nobody")
    assert (result.code, result.out, result.err) == (1, "", "error: No key named 'nobody'.\n")


def test_keys_create_subprocess_prints_a_key_that_writes(
    client: TestClient, seeded_settings: Settings
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "keys", "create", "--name", "ops", "--scope", "admin"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": seeded_settings.database_url},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert KEY_FORMAT.fullmatch(key), result.stdout
    assert result.stdout == f"{key}\n"
    assert key not in result.stderr
    response = client.post("/sources", json=NEW_SOURCE, headers=bearer(key))
    assert response.status_code == 201, response.text
    last = all_changes(client)[-1]
    assert (last["actor"], last["action"], last["entity"], last["entity_id"]) == (
        "ops",
        "create",
        "source",
        STATEMENT,
    )


# --- writes need a key ---------------------------------------------------------------------


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
def test_write_without_authorization_is_401_with_bearer_challenge(
    client: TestClient, write: Write
) -> None:
    response = send(client, write, {})
    body = assert_problem(response, 401, "/problems/unauthorized")
    assert body["detail"] == (
        "This operation needs an API key: send `Authorization: Bearer <key>`."
    )
    assert response.headers["WWW-Authenticate"] == CHALLENGE


def test_write_with_other_auth_scheme_is_401_with_bearer_challenge(
    client: TestClient, keys: Keys
) -> None:
    for authorization in (f"Basic {keys.admin}", keys.admin, "Bearer"):
        response = client.post(
            "/sources", json=NEW_SOURCE, headers={"Authorization": authorization}
        )
        assert_problem(response, 401, "/problems/unauthorized")
        assert response.headers["WWW-Authenticate"] == CHALLENGE, authorization


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
def test_write_with_wrong_key_is_401_invalid_token(
    client: TestClient, keys: Keys, seeded_settings: Settings, write: Write
) -> None:
    real = key_parts(keys.admin)
    engine = make_engine(seeded_settings)
    with make_sessionmaker(engine).begin() as session:
        revoke_key(session, name="walter-writer")
    engine.dispose()
    before = dump_database(seeded_settings)
    flipped = keys.admin[:-1] + ("A" if keys.admin[-1] != "A" else "B")
    presented = [
        "garbage",
        "cpk_000000000000_" + "A" * 43,
        f"cpk_{real['prefix']}_" + "A" * 43,  # a real prefix, a wrong secret
        flipped,
        keys.admin + "x",
        "cpk__",
        "x" * 500,
        keys.writer,  # revoked
    ]
    for key in presented:
        response = send(client, write, bearer(key))
        body = assert_problem(response, 401, "/problems/unauthorized")
        assert body["detail"] == "The API key is not valid (unknown or revoked).", key
        assert response.headers["WWW-Authenticate"] == INVALID_TOKEN, key
    assert dump_database(seeded_settings) == before


@pytest.mark.parametrize("write", WRITES[:2], ids=WRITE_IDS[:2])
def test_write_key_on_sources_is_403_insufficient_scope(
    client: TestClient, keys: Keys, seeded_settings: Settings, write: Write
) -> None:
    before = dump_database(seeded_settings)
    response = send(client, write, bearer(keys.writer))
    body = assert_problem(response, 403, "/problems/forbidden")
    assert body["detail"] == "This operation needs a key with the 'admin' scope."
    assert response.headers["WWW-Authenticate"] == INSUFFICIENT_SCOPE
    assert dump_database(seeded_settings) == before


def test_write_key_records_assessments_under_its_name(client: TestClient, keys: Keys) -> None:
    response = client.post(
        "/assessments", json={**DISSENT, "source": CHART}, headers=bearer(keys.writer)
    )
    assert response.status_code == 201, response.text
    assert all_changes(client)[-1]["actor"] == "walter-writer"
    for write in WRITES[3:]:
        assert send(client, write, bearer(keys.writer)).status_code in (200, 204), write


def test_admin_key_records_sources_and_assessments(client: TestClient, keys: Keys) -> None:
    statuses = [send(client, write, bearer(keys.admin)).status_code for write in WRITES]
    assert statuses == [201, 200, 201, 200, 204]
    assert {c["actor"] for c in all_changes(client)} == {"seed", "alice-admin"}


def test_key_never_appears_in_any_response(client: TestClient, keys: Keys) -> None:
    responses = [send(client, w, bearer(k)) for k in (keys.admin, keys.writer) for w in WRITES]
    responses += [
        client.patch(
            "/assessments/2",
            json={"note": "Stale."},
            headers={**bearer(keys.writer), "If-Match": '"assessment-2-v0"'},
        ),  # 412
        client.post("/sources", json=NEW_SOURCE, headers=bearer(keys.admin)),  # 409
        client.post("/assessments", json={"x": 1}, headers=bearer(keys.writer)),  # 422
        client.post("/assessments", json=DISSENT, headers=bearer(keys.writer + "x")),  # 401
        client.get("/changes", params={"limit": 1000}, headers=bearer(keys.admin)),
        client.get(f"/sources/{STATEMENT}", headers=bearer(keys.admin)),
    ]
    statuses = {r.status_code for r in responses}
    assert {200, 201, 204, 401, 403, 409, 412, 422} <= statuses
    for key in (keys.admin, keys.writer):
        secret = key_parts(key)["secret"]
        for response in responses:
            assert secret not in response.text, response.request.url
            assert not any(secret in value for value in response.headers.values())


# --- reads ---------------------------------------------------------------------------------


def test_reads_are_public_without_a_key_by_default(client: TestClient) -> None:
    for path in READ_PATHS:
        assert client.get(path).status_code == 200, path


@pytest.fixture
def keyed_reads(seeded_settings: Settings) -> Iterator[TestClient]:
    settings = seeded_settings.model_copy(update={"require_key_for_reads": True})
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_reads_need_a_valid_key_when_required(keyed_reads: TestClient, keys: Keys) -> None:
    for path in READ_PATHS:
        missing = keyed_reads.get(path)
        assert_problem(missing, 401, "/problems/unauthorized")
        assert missing.headers["WWW-Authenticate"] == CHALLENGE, path
        wrong = keyed_reads.get(path, headers=bearer("cpk_000000000000_" + "A" * 43))
        assert_problem(wrong, 401, "/problems/unauthorized")
        assert wrong.headers["WWW-Authenticate"] == INVALID_TOKEN, path
        for key in (keys.writer, keys.admin):
            assert keyed_reads.get(path, headers=bearer(key)).status_code == 200, path


def test_health_probes_stay_open_when_reads_need_a_key(keyed_reads: TestClient) -> None:
    assert keyed_reads.get("/healthz").json() == {"status": "ok"}
    assert keyed_reads.get("/readyz").json() == {"status": "ok"}


def test_conditional_read_without_key_is_401_when_reads_need_a_key(
    keyed_reads: TestClient, keys: Keys
) -> None:
    """An ETag seen with a key must not let a keyless client revalidate (304) the data."""
    for path in ("/countries/RS/positions", "/changes"):
        etag = keyed_reads.get(path, headers=bearer(keys.writer)).headers["ETag"]
        response = keyed_reads.get(path, headers={"If-None-Match": etag})
        assert_problem(response, 401, "/problems/unauthorized")


def test_reads_needing_a_key_are_not_shared_cacheable(keyed_reads: TestClient, keys: Keys) -> None:
    """`Cache-Control: public` without `Vary: Authorization` lets a shared cache hand data
    fetched with a key to clients without one (RFC 9111 §3.5)."""
    response = keyed_reads.get("/countries/RS/positions", headers=bearer(keys.writer))
    assert response.status_code == 200
    cache_control = response.headers["Cache-Control"]
    vary = response.headers.get("Vary", "").lower()
    assert "public" not in cache_control or "authorization" in vary, (cache_control, vary)
