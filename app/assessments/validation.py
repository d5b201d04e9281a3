"""Checks an assessment needs beyond its own fields: do the things it names exist, and is
its relay chain whole?

The API (against the database) and the seed loader (against the seed files) both call
`reference_problems`, so they can never disagree on what a valid assessment is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.assessments.schemas import AssessmentCreate


def reference_problems(
    row: AssessmentCreate,
    *,
    country_exists: Callable[[str], bool],
    relays_of: Callable[[str], Sequence[str] | None],
) -> list[tuple[str, str]]:
    """(field, message) for every reference that points at nothing, and for a relay chain
    that repeats a hop or skips one. `relays_of(id)` gives a source's upstream hops (None:
    no such source)."""
    problems: list[tuple[str, str]] = []
    if not country_exists(row.country):
        problems.append(("country", f"unknown country code {row.country!r}"))
    hops = [*(row.relayed_through or ()), *filter(None, [row.reported_via])]
    fields = ["relayed_through"] * len(row.relayed_through or ()) + ["reported_via"] * (
        row.reported_via is not None
    )
    missing = False
    for field, ref in (("source", row.source), *zip(fields, hops, strict=True)):
        if relays_of(ref) is None:
            problems.append((field, f"missing source {ref!r}"))
            missing = True
    if row.relayed_through and row.reported_via is None:
        problems.append(("reported_via", "a chain with hops needs the report we read"))
    if missing or not hops:
        return problems
    chain = [row.source, *hops]
    if len(set(chain)) != len(chain):
        problems.append(("relayed_through", f"relay chain repeats a hop: {' -> '.join(chain)}"))
        return problems
    for before, (field, hop) in zip(chain, zip(fields, hops, strict=True), strict=False):
        upstream = relays_of(hop) or ()
        if upstream and before not in upstream:
            problems.append(
                (
                    field,
                    f"missing hop: {hop!r} relays {', '.join(map(repr, upstream))}, "
                    f"not {before!r}; name the hops between in relayed_through",
                )
            )
    return problems
