"""Checks a source needs beyond its own fields: do the countries its coverage names exist?

The API (against the database) and the seed loader (against countries.csv) both call
`coverage_problems`, so they can never disagree on what a valid coverage is.
"""

from __future__ import annotations

from collections.abc import Callable

from app.sources.schemas import SourceFields


def coverage_problems(
    source: SourceFields, *, country_exists: Callable[[str], bool]
) -> list[tuple[str, str]]:
    """(field, message) for every country in `coverage.known` that is not in the catalogue."""
    if source.coverage is None:
        return []
    return [
        ("coverage", f"unknown country code {code!r} in coverage.known")
        for code in source.coverage.known
        if not country_exists(code)
    ]
