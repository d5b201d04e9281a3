"""The committed Swagger UI and ReDoc files: what vendor.json says is what is there, with
its licence, and a wheel ships it (scripts/refresh_docs_ui.py writes them; issue 12)."""

from __future__ import annotations

import hashlib
import re
import tomllib

from app.docs_ui.assets import REDOC, SWAGGER_UI, VENDOR_DIR, vendored
from tests.servers import ROOT

EXACT = re.compile(r"^\d+\.\d+\.\d+$")


def test_vendored_files_are_what_the_manifest_records() -> None:
    packages = vendored()
    assert set(packages) == {SWAGGER_UI, REDOC}
    folders = {p.name for p in VENDOR_DIR.iterdir() if p.is_dir()}
    assert folders == {package.directory for package in packages.values()}
    for package in packages.values():
        assert EXACT.match(package.version), package
        assert package.directory == f"{package.name}-{package.version}"
        assert package.integrity.startswith("sha512-")
        folder = VENDOR_DIR / package.directory
        on_disk = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
        assert on_disk == package.files, package.name


def test_every_vendored_package_carries_its_licence() -> None:
    packages = vendored()
    assert packages[SWAGGER_UI].license == "Apache-2.0"
    assert packages[REDOC].license == "MIT"
    assert "NOTICE" in packages[SWAGGER_UI].files  # Apache-2.0 section 4(d)
    for package in packages.values():
        assert "LICENSE" in package.files
        # Each bundle says where the licences of the code it bundles are: that file is here.
        for name in package.files:
            if name.endswith(".js"):
                first = (VENDOR_DIR / package.directory / name).read_text().splitlines()[0]
                pointer = re.search(r"see (\S+\.LICENSE\.txt)", first)
                assert pointer is not None and pointer.group(1) in package.files, name


def test_package_data_ships_the_vendored_files() -> None:
    """A wheel holds what [tool.setuptools.package-data] matches; every vendored file must be."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["app"]
    package_root = ROOT / "app"
    shipped = {path for pattern in patterns for path in package_root.glob(pattern)}
    vendored_files = {path for path in VENDOR_DIR.rglob("*") if path.is_file()}
    assert vendored_files
    assert vendored_files <= shipped, sorted(str(p) for p in vendored_files - shipped)
