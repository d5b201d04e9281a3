"""CITATION.cff (CFF 1.2.0) stays a valid citation of this version of the software.

cffconvert, the format's validator, pins jsonschema below 4 (our other tools need 4), so
the keys the format requires (cff-version, message, title, authors) are checked here.
"""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import yaml

import app

ROOT = Path(__file__).resolve().parent.parent


def citation() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    return data


def test_citation_has_the_required_keys() -> None:
    data = citation()
    assert data["cff-version"] == "1.2.0"
    assert isinstance(data["message"], str) and data["message"]
    assert data["type"] == "software"
    assert data["title"] == "country-positions"
    assert data["authors"] == [{"name": "country-positions contributors"}]
    assert isinstance(data["abstract"], str) and data["abstract"]
    date.fromisoformat(data["date-released"])  # a YYYY-MM-DD date, as CFF requires


def test_citation_names_this_version_and_license() -> None:
    data = citation()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert data["version"] == app.__version__ == project["version"]
    assert data["license"] == project["license"] == "MIT"
