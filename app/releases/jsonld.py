"""The chart page's schema.org `Dataset` description (JSON-LD), so dataset search engines
find the data and its latest release's package."""

from __future__ import annotations

import json
from typing import Any

from app.releases.models import Release
from app.releases.package import DESCRIPTION, LICENSES, TITLE

PLACEHOLDER = "<!-- dataset-jsonld -->"


def dataset(base: str, release: Release | None) -> dict[str, Any]:
    """`base`: CP_PUBLIC_URL (or '' for path-only URLs)."""
    description: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "name": TITLE,
        "description": DESCRIPTION,
        "license": LICENSES[0]["path"],
        "creator": {"@type": "Organization", "name": "country-positions contributors"},
        "isAccessibleForFree": True,
        "url": f"{base}/",
        "keywords": ["Ukraine", "military assistance", "Europe", "governments"],
        "distribution": [
            {
                "@type": "DataDownload",
                "encodingFormat": "text/csv",
                "contentUrl": f"{base}/exports/positions.csv",
                "name": "Live positions (changes with every write)",
            }
        ],
    }
    if release is not None:
        prefix = f"{base}/releases/{release.version}"
        description["version"] = release.version
        description["dateModified"] = release.created_at.isoformat()
        description["distribution"] = [
            {
                "@type": "DataDownload",
                "encodingFormat": "application/zip",
                "contentUrl": f"{prefix}/data.zip",
                "name": f"Release {release.version}: data package (zip)",
            },
            {
                "@type": "DataDownload",
                "encodingFormat": "application/json",
                "contentUrl": f"{prefix}/datapackage.json",
                "name": f"Release {release.version}: Frictionless Data Package descriptor",
            },
            *description["distribution"],
        ]
    return description


def script_tag(base: str, release: Release | None) -> str:
    # `</` would end the script element early: JSON allows `<\/` for it.
    data = json.dumps(dataset(base, release), ensure_ascii=False, indent=2).replace("</", "<\\/")
    return f'<script type="application/ld+json">\n{data}\n</script>'
