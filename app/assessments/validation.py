"""Checks an assessment needs beyond its own fields: do the things it names exist?

The API (against the database) and the seed loader (against the seed files) both call
`reference_problems`, so they can never disagree on what a valid assessment is.
"""

from __future__ import annotations

from collections.abc import Callable

from app.assessments.schemas import AssessmentCreate


def reference_problems(
    row: AssessmentCreate,
    *,
    country_exists: Callable[[str], bool],
    source_exists: Callable[[str], bool],
) -> list[tuple[str, str]]:
    """(field, message) for every reference that points at nothing."""
    problems: list[tuple[str, str]] = []
    if not country_exists(row.country):
        problems.append(("country", f"unknown country code {row.country!r}"))
    for field, ref in (("source", row.source), ("reported_via", row.reported_via)):
        if ref is not None and not source_exists(ref):
            problems.append((field, f"missing source {ref!r}"))
    return problems
