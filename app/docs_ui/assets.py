"""The vendored Swagger UI and ReDoc files: where they are, which versions, their URLs.

Framework-free: the conditional-GET layer reads the URL prefix, the pages build links.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

VENDOR_DIR = Path(__file__).resolve().parent / "vendor"
MANIFEST = VENDOR_DIR / "vendor.json"
# Under /docs, beside the pages; each package's folder (and so its URL) names its version.
ASSETS_URL = "/docs/assets"
SWAGGER_UI = "swagger-ui-dist"
REDOC = "redoc"


@dataclass(frozen=True)
class VendoredPackage:
    """One npm package's files as vendor.json records them."""

    name: str
    version: str
    license: str
    integrity: str
    directory: str
    files: dict[str, str]  # file name -> SHA-256 (hex) of its bytes

    @property
    def path(self) -> str:
        """Where its files are served: the version is in the path, so they never change."""
        return f"{ASSETS_URL}/{self.directory}"

    def url(self, file: str, root_path: str = "") -> str:
        if file not in self.files:
            raise KeyError(f"{self.name} {self.version} vendors no {file}")
        return f"{root_path}{self.path}/{file}"


@cache
def vendored() -> dict[str, VendoredPackage]:
    """Every vendored package by npm name, as scripts/refresh_docs_ui.py recorded it."""
    manifest: dict[str, dict[str, Any]] = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return {
        name: VendoredPackage(
            name=name,
            version=entry["version"],
            license=entry["license"],
            integrity=entry["integrity"],
            directory=entry["directory"],
            files=entry["files"],
        )
        for name, entry in manifest.items()
    }
