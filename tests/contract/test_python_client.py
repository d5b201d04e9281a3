"""A Python client generated from the committed contract type-checks and works against the
real service: openapi-python-client, no warnings, typed models and enums, Problem on errors.

The client is generated once per session with `--meta none` (a bare package, put on
PYTHONPATH in place of `pip install --target`: the generated `setup.py` needs a wheel-building
setuptools, which this venv's setuptools 65 is not without `wheel`, and build isolation would
download one). It is never installed into the project's venv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.http.openapi_export import COMMITTED
from app.settings import Settings
from tests.factories import make_key
from tests.servers import running_server

PACKAGE = "country_positions_client"
VENV_BIN = Path(sys.executable).parent

# What a consumer of the generated package writes. It runs in a subprocess against a live
# server (argv: base URL, an admin key) and is type-checked with mypy --strict, so "typed"
# means typed to a checker, not only at run time. It prints what it saw as one JSON object.
SMOKE = '''\
"""Exercise the generated client the way its users would."""

from __future__ import annotations

import json
import sys
from datetime import date

from country_positions_client import AuthenticatedClient, Client
from country_positions_client.api.countries import list_countries
from country_positions_client.api.positions import list_country_positions
from country_positions_client.api.sources import create_source
from country_positions_client.models import (
    CategoryKey,
    CountryPage,
    CountryPositions,
    PositionValue,
    Problem,
    SourceCreate,
    SourceKind,
    SourceRead,
    VerificationStatus,
)

base, key = sys.argv[1], sys.argv[2]
client = AuthenticatedClient(base_url=base, token=key, raise_on_unexpected_status=True)

page = list_countries.sync(client=client, limit=100)
assert isinstance(page, CountryPage), page

serbia = list_country_positions.sync("RS", client=client)
assert isinstance(serbia, CountryPositions), serbia
categories: list[CategoryKey] = [position.category for position in serbia.positions]
values: list[PositionValue] = [position.value for position in serbia.positions]

missing = list_country_positions.sync_detailed("ZZ", client=client)
problem = missing.parsed
assert isinstance(problem, Problem), missing

# Reads are public, so a client without a key must do. openapi-python-client types every
# operation with a security requirement as needing AuthenticatedClient, even when `{}` makes
# it optional (openapi-generators/openapi-python-client#1372); it works at run time.
anonymous = Client(base_url=base, raise_on_unexpected_status=True)
public = list_country_positions.sync("srb", client=anonymous)  # type: ignore[arg-type]
assert isinstance(public, CountryPositions), public

statement = SourceCreate(
    id="serbia-presidency-statement-2023-04",
    title="Statement of the President of Serbia on arms for Ukraine",
    kind=SourceKind.OFFICIAL_STATEMENT,
    published_on=date(2023, 4, 20),
    verification_status=VerificationStatus.NOT_APPLICABLE,
)
created = create_source.sync(client=client, body=statement)
assert isinstance(created, SourceRead), created
again = create_source.sync(client=client, body=statement)
assert isinstance(again, Problem), again

print(
    json.dumps(
        {
            "page": type(page).__name__,
            "total": page.total,
            "codes": [country.code for country in page.items],
            "serbia": type(serbia).__name__,
            "country": serbia.country.name,
            "categories": [str(category) for category in categories],
            "values": [str(value) for value in values],
            "value_types": sorted({type(value).__name__ for value in values}),
            "problem": type(problem).__name__,
            "http_status": int(missing.status_code),
            "problem_status": problem.status,
            "problem_type": problem.type_,
            "problem_instance": problem.instance,
            "anonymous_values": [str(position.value) for position in public.positions],
            "created": [type(created).__name__, created.id, str(created.kind)],
            "created_published_on": created.published_on.isoformat()
            if isinstance(created.published_on, date)
            else None,
            "duplicate": [type(again).__name__, again.status, again.type_],
        }
    )
)
'''


CLIENT_CONFIG = COMMITTED.parent / "clients" / "openapi-python-client.yaml"


@dataclass(frozen=True)
class GeneratedClient:
    """Where the generated package lives, and what the generator printed making it."""

    site: Path
    output: str


def _run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False, **kwargs)


@pytest.fixture(scope="session")
def python_client(tmp_path_factory: pytest.TempPathFactory) -> GeneratedClient:
    """Generate the client from docs/openapi.json once per session."""
    site = tmp_path_factory.mktemp("python-client") / "site"
    # The venv's bin on PATH lets the generator run its ruff post-hooks (else it warns).
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = _run(
        [
            str(VENV_BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(COMMITTED),
            "--output-path",
            str(site / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(CLIENT_CONFIG),
        ],
        env=env,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return GeneratedClient(site=site, output=output)


def test_python_client_generates_without_warnings(python_client: GeneratedClient) -> None:
    # The generator says "Warning(s) encountered while generating" before any list of
    # skipped operations, unsupported schemas or failed post-hooks.
    assert "warning" not in python_client.output.lower(), python_client.output
    assert "error" not in python_client.output.lower(), python_client.output
    package = python_client.site / PACKAGE
    for module in (
        "api/positions/list_country_positions.py",
        "api/countries/list_countries.py",
        "models/position_value.py",
        "models/problem.py",
    ):
        assert (package / module).is_file(), module


def test_python_client_usage_type_checks(python_client: GeneratedClient, tmp_path: Path) -> None:
    smoke = tmp_path / "smoke.py"
    smoke.write_text(SMOKE, encoding="utf-8")
    result = _run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            # Judge our usage, not the generated code's own style.
            "--follow-imports=silent",
            "--cache-dir",
            str(tmp_path / "mypy-cache"),
            str(smoke),
        ],
        # No project config up the tree of tmp_path; MYPYPATH finds the generated package.
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(python_client.site)},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_python_client_works_against_live_service(
    python_client: GeneratedClient, seeded_settings: Settings, tmp_path: Path
) -> None:
    smoke = tmp_path / "smoke.py"
    smoke.write_text(SMOKE, encoding="utf-8")
    key = make_key(seeded_settings, "python-client")
    with running_server(seeded_settings.database_url) as base:
        result = _run(
            [sys.executable, str(smoke), base, key],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(python_client.site)},
        )
    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads(result.stdout)
    assert seen.pop("codes")[:3] == ["AL", "AT", "BE"]
    assert seen == {
        "page": "CountryPage",
        "total": 39,
        "serbia": "CountryPositions",
        "country": "Serbia",
        "categories": ["training", "lethal_aid", "future_capability", "future_will"],
        "values": ["no", "yes", "yes", "yes"],
        "value_types": ["PositionValue"],
        "problem": "Problem",
        "http_status": 404,
        "problem_status": 404,
        "problem_type": "/problems/not-found",
        "problem_instance": "/countries/ZZ/positions",
        "anonymous_values": ["no", "yes", "yes", "yes"],
        "created": ["SourceRead", "serbia-presidency-statement-2023-04", "official_statement"],
        "created_published_on": "2023-04-20",
        "duplicate": ["Problem", 409, "/problems/conflict"],
    }
