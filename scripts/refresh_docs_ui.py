#!/usr/bin/env python3
"""Refresh the Swagger UI and ReDoc files that /docs and /redoc serve (app/docs_ui/vendor/).

Run by hand when upgrading, never at build time; commit what it writes. Each package is
fetched with `npm pack NAME@VERSION` (npm checks the registry's integrity hash), at an
exact version: with no option, the versions already in vendor.json are fetched again, so
a rerun reproduces the committed files byte for byte. Only what the pages load is kept,
with the package's licence files beside it, in a folder named after the version (its URL
changes with it, so browsers may cache each file forever). vendor.json records version,
licence, npm integrity and a SHA-256 per file; tests/docs_ui checks the files against it.

    python scripts/refresh_docs_ui.py                       # the pinned versions again
    python scripts/refresh_docs_ui.py --swagger-ui-dist 5.35.0 --redoc 2.5.4
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR_DIR = Path(__file__).resolve().parent.parent / "app" / "docs_ui" / "vendor"
MANIFEST = VENDOR_DIR / "vendor.json"
EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+$")

# What each package contributes: paths (or patterns) inside its npm tarball -> flat names.
KEEP: dict[str, list[str]] = {
    "swagger-ui-dist": [
        "LICENSE",
        "NOTICE",
        "swagger-ui-bundle.js",
        "swagger-ui-bundle.js.LICENSE.txt",
        "swagger-ui.css",
        "favicon-32x32.png",
    ],
    "redoc": [
        "LICENSE",
        "bundles/redoc.standalone.js",
        "bundles/redoc.standalone.js.LICENSE.txt",
        # The search worker is inlined in the standalone bundle; its licences are not.
        "bundles/*.worker.js.LICENSE.txt",
    ],
}


def _pinned() -> dict[str, str]:
    if not MANIFEST.exists():
        return {}
    manifest: dict[str, dict[str, object]] = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return {name: str(entry["version"]) for name, entry in manifest.items()}


def _npm_pack(name: str, version: str, into: Path) -> tuple[Path, str]:
    """The package's tarball, as npm fetched and verified it, and its integrity."""
    result = subprocess.run(
        ["npm", "pack", f"{name}@{version}", "--json", "--pack-destination", str(into)],
        capture_output=True,
        text=True,
        check=True,
    )
    (packed,) = json.loads(result.stdout)
    if packed["version"] != version:
        raise SystemExit(f"npm packed {name}@{packed['version']}, not {version}")
    return into / packed["filename"], str(packed["integrity"])


def _vendor(name: str, version: str, scratch: Path) -> dict[str, object]:
    tarball, integrity = _npm_pack(name, version, scratch)
    target = VENDOR_DIR / f"{name}-{version}"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    files: dict[str, str] = {}
    with tarfile.open(tarball) as archive:
        members = {m.name.removeprefix("package/"): m for m in archive.getmembers() if m.isfile()}

        def read(path: str) -> bytes:
            extracted = archive.extractfile(members[path])
            assert extracted is not None, path
            return extracted.read()

        package = json.loads(read("package.json"))
        for pattern in KEEP[name]:
            matched = sorted(path for path in members if fnmatch.fnmatchcase(path, pattern))
            if not matched:
                raise SystemExit(f"{name}@{version} has no {pattern}")
            for path in matched:
                data = read(path)
                flat = Path(path).name
                (target / flat).write_bytes(data)
                files[flat] = hashlib.sha256(data).hexdigest()
    for old in VENDOR_DIR.glob(f"{name}-*"):
        if old != target and old.is_dir() and re.fullmatch(rf"{name}-\d+\.\d+\.\d+", old.name):
            shutil.rmtree(old)
    return {
        "version": version,
        "license": package["license"],
        "integrity": integrity,
        "directory": target.name,
        "files": dict(sorted(files.items())),
    }


def main(argv: list[str] | None = None) -> int:
    pinned = _pinned()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name in KEEP:
        parser.add_argument(
            f"--{name}",
            dest=name.replace("-", "_"),
            default=pinned.get(name),
            metavar="X.Y.Z",
            help=f"exact version of {name} (default: {pinned.get(name, 'none pinned yet')})",
        )
    args = parser.parse_args(argv)
    versions = {name: getattr(args, name.replace("-", "_")) for name in KEEP}
    for name, version in versions.items():
        if version is None or not EXACT_VERSION.match(version):
            parser.error(f"--{name} needs an exact version X.Y.Z, not {version!r}")
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        manifest = {name: _vendor(name, v, Path(scratch)) for name, v in versions.items()}
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for name, entry in manifest.items():
        print(f"{name} {entry['version']} ({entry['license']}) -> {entry['directory']}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
