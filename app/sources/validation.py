"""Checks a source needs beyond its own fields: do the countries its coverage names exist,
and do the sources it relays exist without looping back to it?

The API (against the database) and the seed loader (against the seed files) both call
`coverage_problems` and `relay_problems`, so they can never disagree on what is valid.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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


def relay_problems(
    source_id: str,
    relays: Sequence[str] | None,
    *,
    relays_of: Callable[[str], Sequence[str] | None],
) -> list[tuple[str, str]]:
    """(field, message) for each upstream hop that does not exist, and for a chain that
    loops back to `source_id`. `relays_of(id)` gives a source's hops (None: no such source)."""
    problems: list[tuple[str, str]] = []
    for hop in relays or ():
        if hop == source_id:
            problems.append(("relays", f"a source cannot relay itself ({hop!r})"))
        elif relays_of(hop) is None:
            problems.append(("relays", f"missing hop: no source {hop!r}"))
    if problems:
        return problems
    loop = _path_back_to(source_id, relays or (), relays_of)
    if loop:
        chain = " -> ".join([source_id, *loop])
        problems.append(("relays", f"relay chain has a cycle: {chain}"))
    return problems


def _path_back_to(
    target: str, start: Sequence[str], relays_of: Callable[[str], Sequence[str] | None]
) -> list[str]:
    """A path of upstream hops from `start` that reaches `target` (empty: none does)."""
    stack: list[tuple[str, list[str]]] = [(hop, [hop]) for hop in start]
    seen: set[str] = set()
    while stack:
        hop, path = stack.pop()
        if hop == target:
            return path
        if hop in seen:
            continue
        seen.add(hop)
        stack.extend((up, [*path, up]) for up in relays_of(hop) or ())
    return []
