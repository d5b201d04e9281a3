"""How to cite a release: one plain-text line and one BibTeX `@misc` entry, from the same
facts (who, year, title, version, URL, hash), so the two never disagree."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Protocol

AUTHOR = "country-positions contributors"
TITLE = "European governments' assessed positions on military assistance to Ukraine"
# LaTeX's special characters, as BibTeX field text must spell them. BibTeX counts braces
# even escaped (`\}` still closes a field), so a brace is spelt by name, with balanced `{}`.
_LATEX = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "^": r"\^{}",
    "~": r"\~{}",
}
_LATEX_PATTERN = re.compile("|".join(re.escape(c) for c in _LATEX))
# What a URL may not carry inside a braced BibTeX field: percent-encoded instead.
_URL_UNSAFE = re.compile(r"[{}\\\s\"]")


class Release(Protocol):
    """What a citation needs of a release (app.releases.package.PackageInfo has it)."""

    @property
    def version(self) -> str: ...

    @property
    def sha256(self) -> str: ...

    @property
    def created(self) -> datetime: ...


def text(release: Release, url: str) -> str:
    """The plain-text citation, in the usual author (year). title [dataset]. URL form."""
    return (
        f"{AUTHOR} ({release.created.year}). {TITLE}, release {release.version} [dataset]. "
        f"{url}. SHA-256 {release.sha256}."
    )


def latex(value: str) -> str:
    """`value` as BibTeX field text: LaTeX's special characters escaped, braces balanced."""
    return _LATEX_PATTERN.sub(lambda m: _LATEX[m.group()], value)


def _url(value: str) -> str:
    return _URL_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), value)


def key(version: str) -> str:
    """The entry's key: `country_positions_` and the version, in letters, digits and `_`."""
    return "country_positions_" + (re.sub(r"[^A-Za-z0-9]+", "_", version).strip("_") or "release")


def bibtex(release: Release, url: str) -> str:
    """A BibTeX `@misc` entry; the author is braced whole, so it reads as one name."""
    fields = (
        ("author", f"{{{latex(AUTHOR)}}}"),
        ("title", f"{latex(TITLE)}, release {latex(release.version)}"),
        ("year", str(release.created.year)),
        ("version", latex(release.version)),
        ("howpublished", "Dataset"),
        ("url", _url(url)),
        ("note", f"SHA-256 {latex(release.sha256)}"),
    )
    body = "".join(f"  {name} = {{{value}}},\n" for name, value in fields)
    return f"@misc{{{key(release.version)},\n{body}}}\n"


def citation(release: Release, url: str) -> dict[str, str]:
    """`{"text": …, "bibtex": …}` for the release published at `url`."""
    return {"text": text(release, url), "bibtex": bibtex(release, url)}
