"""The layers below the routes never load the web framework.

Services, models, seeding and the position rules are plain Python over SQLAlchemy: the CLI
and the seed loader use them without FastAPI, and a framework import sneaking in (often
through a shared helper) is how layers start to blur. Each check runs in a fresh
interpreter, since this one has long imported FastAPI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import app

FRAMEWORKS = ("fastapi", "starlette")
# Module names that are service-level wherever they appear in a domain package.
SERVICE_LEVEL = {"service", "models", "snapshots", "positions", "curation", "validation"}
# Shared modules those import, framework-free for the same reason.
SHARED = (
    "app.db",
    "app.db_deadline",
    "app.errors",
    "app.revisions.models",
    "app.writes",
    "app.vocabulary",
)

PROBE = """
import importlib, json, sys
loaded = {}
for name in sys.argv[1:]:
    before = {m for m in sys.modules if m.split(".")[0] in FRAMEWORKS}
    importlib.import_module(name)
    after = {m for m in sys.modules if m.split(".")[0] in FRAMEWORKS}
    loaded[name] = sorted(after - before)
print(json.dumps(loaded))
""".replace("FRAMEWORKS", repr(FRAMEWORKS))


def _framework_free_modules() -> list[str]:
    """Every service-level module of the package, found by walking it (not listed by hand)."""
    root = Path(app.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts[-1] in SERVICE_LEVEL or parts[:2] == ("app", "seeding"):
            found.append(".".join(parts))
    return found


def _frameworks_loaded(*modules: str) -> dict[str, list[str]]:
    """Import `modules` one after another in a fresh interpreter; what each one pulled in."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *modules],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(app.__file__).parent.parent,
    )
    loaded: dict[str, list[str]] = json.loads(result.stdout)
    return loaded


def test_the_walk_finds_every_layer() -> None:
    modules = _framework_free_modules()
    for expected in (
        "app.countries.service",
        "app.assessments.models",
        "app.assessments.positions",
        "app.assessments.snapshots",
        "app.seeding.loader",
        "app.seeding.bulk",
    ):
        assert expected in modules


@pytest.mark.parametrize("module", [*_framework_free_modules(), *SHARED])
def test_module_imports_no_web_framework(module: str) -> None:
    # Alone, so that a module importing a framework is named, not whichever came first.
    assert _frameworks_loaded(module) == {module: []}


def test_the_probe_sees_a_framework_import() -> None:
    loaded = _frameworks_loaded("app.problems")
    assert {"fastapi", "starlette"} <= set(loaded["app.problems"])
