"""How to cite a release (interim; the data package work replaces it)."""

from __future__ import annotations

from app.releases.models import Release

TITLE = "European governments' assessed positions on military assistance to Ukraine"


def cite(release: Release, url: str) -> dict[str, str]:
    year = release.created_at.year
    text = (
        f"country-positions contributors ({year}). {TITLE}, release {release.version} "
        f"[dataset]. {url}. SHA-256 {release.sha256}."
    )
    key = "country-positions-" + release.version.replace(".", "-")
    bibtex = (
        f"@misc{{{key},\n  author = {{{{country-positions contributors}}}},\n"
        f"  title = {{{TITLE}, release {release.version}}},\n  year = {{{year}}},\n"
        f"  howpublished = {{\\url{{{url}}}}},\n  note = {{SHA-256 {release.sha256}}}\n}}\n"
    )
    return {"text": text, "bibtex": bibtex}
