"""TypeScript types generated from the committed contract fit real usage: openapi-typescript
generates them without warnings and `tsc --noEmit` accepts tests/contract/ts/usage.ts.

Needs Node 20+ and npm (the pinned packages come from the npm registry, or npm's cache, via
`npm ci`). Without npm the test is skipped; REQUIRE_NODE=1 turns that skip into a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from app.http.openapi_export import COMMITTED

TS = Path(__file__).resolve().parent / "ts"


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        reason = "node and npm are needed to type-check the TypeScript client"
        if os.environ.get("REQUIRE_NODE") == "1":
            pytest.fail(f"{reason} (REQUIRE_NODE=1)")
        pytest.skip(f"{reason}; install Node 20+ or set REQUIRE_NODE=1 to insist")
    return npm


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=TS, capture_output=True, text=True, timeout=300, check=False)


def _own_lines(output: str) -> list[str]:
    """Output lines of the tool itself, not npm's notes on the user's npm configuration."""
    return [
        line
        for line in output.splitlines()
        if line.strip() and not line.lower().startswith(("npm warn", "npm notice"))
    ]


def test_typescript_types_generate_and_type_check(tmp_path: Path) -> None:
    npm = _npm()
    installed = _run([npm, "ci", "--prefer-offline", "--no-audit", "--no-fund"])
    assert installed.returncode == 0, installed.stdout + installed.stderr

    generated = tmp_path / "api.d.ts"
    relative_spec = os.path.relpath(COMMITTED, TS)
    result = _run(
        [npm, "exec", "--no", "--", "openapi-typescript", relative_spec, "-o", str(generated)]
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # openapi-typescript reports schema problems (its Redocly lint) as warnings and goes on.
    lines = _own_lines(output)
    assert not [line for line in lines if "warn" in line.lower() or "⚠" in line], output
    assert "export interface paths" in generated.read_text(encoding="utf-8")

    # Same options as ts/tsconfig.json, with the alias pointing at this run's output.
    config = tmp_path / "tsconfig.json"
    config.write_text(
        json.dumps(
            {
                "extends": str(TS / "tsconfig.json"),
                "compilerOptions": {"paths": {"country-positions-api": [str(generated)]}},
                "files": [str(TS / "usage.ts")],
            }
        ),
        encoding="utf-8",
    )
    checked = _run([npm, "exec", "--no", "--", "tsc", "--noEmit", "-p", str(config)])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert _own_lines(checked.stdout + checked.stderr) == []
