"""orval 8 (fetch client) takes the committed contract as a new user would: it generates without
a warning, the committed program (programs/orval/usage.ts) type-checks with strict tsc, and
against a live server it prints Serbia's four values, the 39-row chart, the counts and the typed
404 (issue 12: with a second media type on a 200, orval returns a stream, never parsed JSON).

Needs Node 20.19+ and the pinned npm tools (tests/contract/generators/npm, installed by
scripts/npm-tools). Without Node the tests skip; REQUIRE_NODE=1 turns the skip into a failure.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.http.openapi_export import COMMITTED
from app.settings import Settings
from tests.contract.generators._harness import (
    NPM_BIN,
    Built,
    Generated,
    assert_program_output,
    complaints,
    generate,
    npm_version,
    require_node,
    run_program,
    typescript_build,
)
from tests.servers import running_server

# Requests go to `baseUrl()` from programs/orval/base-url.ts, which the program sets at start.
OUTPUT = {
    "client": "fetch",
    "mode": "single",
    "baseUrl": {
        "runtime": "baseUrl()",
        "imports": [{"name": "baseUrl", "importPath": "../base-url"}],
    },
}


def _orval(output: Path) -> list[str]:
    config = output.parent / "orval.config.mjs"
    project = {
        "countryPositions": {
            "input": {"target": str(COMMITTED)},
            "output": {**OUTPUT, "target": str(output / "index.ts")},
        }
    }
    config.write_text(f"export default {json.dumps(project, indent=2)};\n", encoding="utf-8")
    return [str(NPM_BIN / "orval"), "--config", str(config)]


@pytest.fixture(scope="module")
def generated() -> Generated:
    """The client, generated once per contract (cached under var/cache/generators)."""
    require_node()
    return generate("orval", [npm_version("orval"), json.dumps(OUTPUT)], _orval)


@pytest.fixture(scope="module")
def built(generated: Generated, tmp_path_factory: pytest.TempPathFactory) -> Built:
    return typescript_build(generated, "orval", tmp_path_factory.mktemp("orval"))


def test_orval_generates_without_warnings(generated: Generated) -> None:
    assert complaints(generated.output) == [], generated.output
    assert (generated.client / "index.ts").is_file()


def test_orval_program_type_checks(built: Built) -> None:
    built.check()


def test_orval_program_works_against_live_server(built: Built, seeded_settings: Settings) -> None:
    with running_server(seeded_settings.database_url) as base:
        printed = run_program(built, base)
        assert_program_output(printed, base, {"error": "response 404", "model": "Problem"})
