"""What the generator tests share: finding the tools, generating once (cached on the contract's
hash), building a committed program against the output, running it against a live server and
checking what it printed against what the server itself says.

Generated clients are cached in var/cache/generators/<tool>-<key>/, where the key hashes
docs/openapi.json, the tool's version and its options: the second backend, and every later run
with the same contract, reuse them. Go's and mypy's caches live under var/cache too.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.http.openapi_export import COMMITTED

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
PROGRAMS = HERE / "programs"
NPM = HERE / "npm"
NPM_BIN = NPM / "node_modules" / ".bin"
CACHE = ROOT / "var" / "cache"
VENV_BIN = Path(sys.executable).parent

SERBIA = {
    "training": "no",
    "lethal_aid": "yes",
    "future_capability": "yes",
    "future_will": "yes",
}


def require(found: bool, what: str, flag: str, hint: str) -> None:
    """Skip loudly when a tool is missing; fail instead when CI sets REQUIRE_<flag>=1."""
    if found:
        return
    if os.environ.get(f"REQUIRE_{flag}") == "1":
        pytest.fail(f"{what} (REQUIRE_{flag}=1)")
    pytest.skip(f"{what}; {hint}, or set REQUIRE_{flag}=1 to insist")


def require_node() -> None:
    """Node and the pinned npm tools (scripts/npm-tools installs them, once per lockfile)."""
    require(
        shutil.which("node") is not None and shutil.which("npm") is not None,
        "node and npm are needed for the TypeScript generators",
        "NODE",
        "install Node 20.19+",
    )
    installed = run([str(ROOT / "scripts" / "npm-tools")], timeout=900)
    assert installed.returncode == 0, installed.stdout + installed.stderr


def run(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv),
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass(frozen=True)
class Generated:
    """A generated client and what the generator printed making it."""

    client: Path
    output: str
    seconds: float
    cached: bool


def generate(
    tool: str, options: Sequence[str], command: Callable[[Path], Sequence[str]]
) -> Generated:
    """Run `command(output_dir)` once for this contract, tool version and options.

    A failed generation is never cached. The client is written to a scratch folder and renamed
    into place, so an interrupted run never leaves a half-written cache entry behind.
    """
    digest = hashlib.sha256(COMMITTED.read_bytes())
    digest.update(json.dumps([tool, *options]).encode())
    entry = CACHE / "generators" / f"{tool}-{digest.hexdigest()[:16]}"
    log = entry / "generator-output.txt"
    if log.is_file():
        return Generated(entry / "client", log.read_text(encoding="utf-8"), 0.0, cached=True)
    scratch = entry.with_name(f".{entry.name}-{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    started = time.monotonic()
    result = run(command(scratch / "client"), cwd=scratch)
    seconds = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    (scratch / "generator-output.txt").write_text(output, encoding="utf-8")
    shutil.rmtree(entry, ignore_errors=True)
    scratch.rename(entry)
    # Entries for older contracts are never read again.
    for stale in entry.parent.glob(f"{tool}-*"):
        if stale != entry and re.fullmatch(rf"{re.escape(tool)}-[0-9a-f]{{16}}", stale.name):
            shutil.rmtree(stale, ignore_errors=True)
    return Generated(entry / "client", output, seconds, cached=False)


@dataclass(frozen=True)
class Built:
    """A committed program built against a generated client, and how to run it."""

    result: subprocess.CompletedProcess[str]
    argv: list[str]
    env: dict[str, str]

    def check(self) -> None:
        assert self.result.returncode == 0, self.result.stdout + self.result.stderr


def typescript_build(generated: Generated, program: str, workdir: Path) -> Built:
    """Type-check the program and the generated client with strict tsc, emitting CommonJS.

    One `tsc` run does both: with `noEmitOnError` nothing is emitted unless the whole
    compilation type-checks (the same verdict as `tsc --noEmit`, without a second slow run).
    """
    shutil.copytree(generated.client, workdir / "api")
    for source in (PROGRAMS / program).glob("*.ts"):
        shutil.copy(source, workdir / source.name)
    (workdir / "package.json").write_text('{"type": "commonjs"}\n', encoding="utf-8")
    config = {
        "compilerOptions": {
            "target": "ES2022",
            "lib": ["ES2022", "DOM", "DOM.Iterable"],
            "module": "CommonJS",
            "moduleResolution": "Node10",
            "strict": True,
            "noEmitOnError": True,
            # Judge the program and the generated client, not @types/node's declarations.
            "skipLibCheck": True,
            "outDir": "out",
            # @types/node comes from the pinned npm tools, not from the build folder.
            "typeRoots": [str(NPM / "node_modules" / "@types")],
            "types": ["node"],
        },
        "include": ["*.ts", "api/**/*.ts"],
    }
    (workdir / "tsconfig.json").write_text(json.dumps(config), encoding="utf-8")
    result = run([str(NPM_BIN / "tsc"), "-p", str(workdir)], cwd=workdir)
    return Built(result, ["node", str(workdir / "out" / "usage.js")], {})


def run_program(built: Built, base: str) -> dict[str, Any]:
    """Run the program against `base`; return the JSON object it printed."""
    built.check()
    result = run([*built.argv, base], env=built.env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    printed: dict[str, Any] = json.loads(result.stdout)
    return printed


def expected_output(base: str, not_found: dict[str, Any]) -> dict[str, Any]:
    """What every program must print, read from the same server with plain httpx."""
    chart = httpx.get(f"{base}/positions", params={"limit": 100}).json()
    stats = httpx.get(f"{base}/stats").json()

    def values(country: dict[str, Any]) -> list[str]:
        return [position["value"] for position in country["positions"]]

    return {
        "serbia": {"country": "Serbia", "values": SERBIA},
        "chart": {
            "total": chart["total"],
            "rows": [[row["country"]["code"], values(row)] for row in chart["items"]],
        },
        "stats": {
            "countries": stats["countries"],
            "counts": {entry["category"]: entry["counts"] for entry in stats["categories"]},
        },
        "not_found": {"status": 404, "type": "/problems/not-found", **not_found},
    }


def assert_program_output(printed: dict[str, Any], base: str, not_found: dict[str, Any]) -> None:
    """Serbia's four values, all 39 chart rows, the counts, and the typed 404."""
    expected = expected_output(base, not_found)
    assert len(expected["chart"]["rows"]) == expected["chart"]["total"] == 39
    assert expected["stats"]["countries"] == 39
    assert printed == expected


def npm_version(package: str) -> str:
    """The installed version of one of the pinned npm tools."""
    manifest = NPM / "node_modules" / package / "package.json"
    version: str = json.loads(manifest.read_text(encoding="utf-8"))["version"]
    return version


def complaints(output: str) -> list[str]:
    """Lines of a node tool's output that warn or report an error (colours stripped)."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)
    return [
        line
        for line in plain.splitlines()
        if re.search(r"warn|error|⚠|❌|✖", line, re.IGNORECASE)
        and not line.lower().startswith(("npm warn", "npm notice"))
    ]
