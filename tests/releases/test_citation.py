"""A release's citation: the plain text and a BibTeX entry that a BibTeX parser reads back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pybtex.database import parse_string

from app.releases.citation import bibtex, citation, key, latex

SHA = "ab" * 32
URL = "https://example.org/releases/2026.1"


@dataclass(frozen=True)
class Release:
    version: str
    sha256: str
    created: datetime


RELEASE = Release("2026.1", SHA, datetime(2026, 11, 30, 12, 0, tzinfo=UTC))


def test_the_text_names_authors_year_title_release_url_and_hash() -> None:
    assert citation(RELEASE, URL)["text"] == (
        "country-positions contributors (2026). European governments' assessed positions on "
        "military assistance to Ukraine, release 2026.1 [dataset]. "
        f"https://example.org/releases/2026.1. SHA-256 {SHA}."
    )


def test_the_bibtex_entry_parses_to_the_same_facts() -> None:
    entry = citation(RELEASE, URL)["bibtex"]
    assert entry.startswith("@misc{country_positions_2026_1,\n")
    parsed = parse_string(entry, "bibtex").entries["country_positions_2026_1"]
    assert parsed.type == "misc"
    assert [str(p) for p in parsed.persons["author"]] == ["{country-positions contributors}"]
    assert parsed.fields["title"] == (
        "European governments' assessed positions on military assistance to Ukraine, release 2026.1"
    )
    assert parsed.fields["year"] == "2026"
    assert parsed.fields["version"] == "2026.1"
    assert parsed.fields["url"] == URL
    assert parsed.fields["note"] == f"SHA-256 {SHA}"


def test_special_characters_are_escaped_and_braces_stay_balanced() -> None:
    assert latex(r"50% & {x}_1 #2 $3 ^ ~ \ ") == (
        r"50\% \& \textbraceleft{}x\textbraceright{}\_1 \#2 \$3 \^{} \~{} \textbackslash{} "
    )
    odd = Release("2026.1-rc}{%", SHA, RELEASE.created)
    entry = bibtex(odd, "https://example.org/a b/{v}\\")
    assert key(odd.version) == "country_positions_2026_1_rc"
    parsed = parse_string(entry, "bibtex").entries["country_positions_2026_1_rc"]
    assert parsed.fields["version"] == r"2026.1-rc\textbraceright{}\textbraceleft{}\%"
    assert parsed.fields["url"] == "https://example.org/a%20b/%7Bv%7D%5C"


def test_a_version_without_letters_or_digits_still_makes_a_key() -> None:
    assert key("...") == "country_positions_release"
