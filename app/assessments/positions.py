"""Derive positions from assessments. A position is never stored; this is the only rule.

For each category: take each source's most recent assessment (as of the requested date).
The position's value is the value of the most recent of those (ties on the date go to the
most recently recorded assessment, i.e. the highest id). The position is `disputed` when
those latest assessments of different sources disagree. No assessment at all reads
`unknown`, which is never the same as `no`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from app.assessments.models import Assessment
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
    """One position per category, in chart order, from one country's assessments."""
    by_category: dict[CategoryKey, list[Assessment]] = {key: [] for key in CategoryKey}
    for assessment in assessments:
        by_category[CategoryKey(assessment.category_key)].append(assessment)
    return [derive_position(key, rows) for key, rows in by_category.items()]
