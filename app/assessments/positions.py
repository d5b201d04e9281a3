"""Derive positions from assessments. A position is never stored; it is derived, by one
rule in two halves:

- *Which assessments count* is chosen in SQL, by `app.assessments.service._latest_assessments`:
  retracted assessments never count, nor those of a retracted source, nor any dated after
  the requested `as_of` (nor, with `?source=`, any other source's), and of each source
  only its latest (a source has at most one assessment per date: the unique key includes
  `as_of`).
- *What they add up to* is decided here, by `derive_position`: the position's value is the
  value of the most recent of those assessments (ties on the date go to the most recently
  recorded one, i.e. the highest id). It is `disputed` when the latest assessments of
  different sources disagree. No assessment at all reads `unknown` (no source we hold
  reports a value, which includes a government a source may not have covered), never `no`.
  `derive_position` also keeps only each source's latest of what it is given, so it
  reads the same whether or not the SQL half already did.

A consequence `app.assessments.snapshots` relies on: positions change only on the dates
of assessments, so every `as_of` reads the same positions as its *canonical date*
(`snapshots.canonical_date`: the latest assessment date on or before it).
tests/positions/test_derive_position.py checks both this half and that consequence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from app.assessments.models import Assessment
from app.sources.models import Source
from app.vocabulary import CategoryKey, PositionValue


@dataclass(frozen=True)
class Position:
    category: CategoryKey
    value: PositionValue
    disputed: bool
    as_of: date | None
    assessments: Sequence[Assessment] = field(default_factory=tuple)

    @property
    def source_ids(self) -> list[str]:
        return [assessment.source_id for assessment in self.assessments]

    @property
    def sources(self) -> list[Source]:
        """The sources behind the position, in `source_ids` order."""
        return [assessment.source for assessment in self.assessments]


def _newest_first(assessment: Assessment) -> tuple[date, int]:
    return (assessment.as_of, assessment.id)


def derive_position(category: CategoryKey, assessments: Iterable[Assessment]) -> Position:
    """The position in one category from that category's assessments (any order)."""
    latest_by_source: dict[str, Assessment] = {}
    for assessment in assessments:
        current = latest_by_source.get(assessment.source_id)
        if current is None or _newest_first(assessment) > _newest_first(current):
            latest_by_source[assessment.source_id] = assessment
    if not latest_by_source:
        return Position(category, PositionValue.unknown, disputed=False, as_of=None)
    behind = sorted(latest_by_source.values(), key=_newest_first, reverse=True)
    winner = behind[0]
    return Position(
        category=category,
        value=PositionValue(winner.value.value),
        disputed=len({assessment.value for assessment in behind}) > 1,
        as_of=winner.as_of,
        assessments=tuple(behind),
    )


def derive_positions(assessments: Iterable[Assessment]) -> list[Position]:
    """One position per category, in category order, from one country's assessments."""
    by_category: dict[CategoryKey, list[Assessment]] = {key: [] for key in CategoryKey}
    for assessment in assessments:
        by_category[CategoryKey(assessment.category_key)].append(assessment)
    return [derive_position(key, rows) for key, rows in by_category.items()]
