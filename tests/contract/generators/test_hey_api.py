"""@hey-api/openapi-ts (fetch client) takes the committed contract as a new user would: it
generates without a warning, the committed program (programs/hey_api/usage.ts) type-checks with
strict tsc, and against a live server it prints Serbia's four values, the 39-row chart, the
counts and the typed 404 (issue 12).

Needs Node 20.19+ and the pinned npm tools (tests/contract/generators/npm, installed by
scripts/npm-tools). Without Node the tests skip; REQUIRE_NODE=1 turns the skip into a failure.
"""

from __future__ import annotations

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

OPTIONS = ["--client", "@hey-api/client-fetch"]


@pytest.fixture(scope="module")
def generated() -> Generated:
    """The client, generated once per contract (cached under var/cache/generators)."""
    require_node()
    return generate(
        "hey-api",
        [npm_version("@hey-api/openapi-ts"), *OPTIONS],
        lambda output: [
            str(NPM_BIN / "openapi-ts"),
            "--input",
            str(COMMITTED),
            "--output",
            str(output),
            *OPTIONS,
        ],
    )


@pytest.fixture(scope="module")
def built(generated: Generated, tmp_path_factory: pytest.TempPathFactory) -> Built:
    return typescript_build(generated, "hey_api", tmp_path_factory.mktemp("hey-api"))


def test_hey_api_generates_without_warnings(generated: Generated) -> None:
    assert complaints(generated.output) == [], generated.output
    assert (generated.client / "sdk.gen.ts").is_file()


def test_hey_api_program_type_checks(built: Built) -> None:
    built.check()


def test_hey_api_program_works_against_live_server(built: Built, seeded_settings: Settings) -> None:
    with running_server(seeded_settings.database_url) as base:
        printed = run_program(built, base)
        assert_program_output(printed, base, {"error": "response 404", "model": "Problem"})
