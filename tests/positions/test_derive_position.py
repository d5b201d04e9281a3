"""The Python half of the position rule, on hand-made assessments: no database, no HTTP.

What counts (retractions, the `as_of` cut-off) is chosen in SQL and tested through the API
in test_positions_api.py; here, what the counted assessments add up to, and the canonical
date argument app.assessments.snapshots builds on.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.assessments.models import Assessment
from app.assessments.positions import derive_position, derive_positions
from app.assessments.snapshots import BEFORE_ANY, canonical_date
from app.vocabulary import AssessedValue, CategoryKey, PositionValue
from tests.factories import ARTICLE, CHART

TRAINING = CategoryKey.training
_ids = itertools.count(1)


def assessment(
    value: str,
    as_of: date,
    *,
    source: str = CHART,
    category: CategoryKey = TRAINING,
    id: int | None = None,
) -> Assessment:
    """A transient assessment of Serbia; ids increase in creation order unless given."""
    return Assessment(
        id=next(_ids) if id is None else id,
        country_code="RS",
        category_key=category,
        source_id=source,
        as_of=as_of,
        value=AssessedValue(value),
        evidence="hand-made",
    )


def test_no_assessment_reads_unknown_not_no() -> None:
    position = derive_position(TRAINING, [])
    assert position.value is PositionValue.unknown
    assert (position.disputed, position.as_of, position.assessments) == (False, None, ())


def test_one_assessment_is_the_position() -> None:
    only = assessment("no", date(2023, 3, 2))
    position = derive_position(TRAINING, [only])
    assert (position.value, position.disputed, position.as_of) == ("no", False, date(2023, 3, 2))
    assert position.assessments == (only,)
    assert position.source_ids == [CHART]


def test_a_sources_newer_assessment_supersedes_its_older_one() -> None:
    older = assessment("yes", date(2023, 1, 1))
    newer = assessment("no", date(2023, 3, 2))
    position = derive_position(TRAINING, [newer, older])
    assert position.value is PositionValue.no
    # The older one is neither the value nor a dispute: it no longer counts at all.
    assert position.disputed is False
    assert position.assessments == (newer,)


def test_the_newer_date_wins_even_when_recorded_first() -> None:
    recorded_first = assessment("no", date(2023, 4, 12), source=ARTICLE)
    recorded_later = assessment("yes", date(2023, 3, 2))
    position = derive_position(TRAINING, [recorded_later, recorded_first])
    assert position.value is PositionValue.no
    assert position.as_of == date(2023, 4, 12)


def test_sources_that_disagree_dispute_the_position() -> None:
    chart = assessment("yes", date(2023, 3, 2))
    article = assessment("no", date(2023, 4, 12), source=ARTICLE)
    position = derive_position(TRAINING, [chart, article])
    assert (position.value, position.disputed) == (PositionValue.no, True)
    # Newest first: the value's assessment, then the one that disputes it.
    assert position.assessments == (article, chart)
    assert position.source_ids == [ARTICLE, CHART]


def test_sources_that_agree_do_not_dispute() -> None:
    chart = assessment("yes", date(2023, 3, 2))
    article = assessment("yes", date(2023, 4, 12), source=ARTICLE)
    position = derive_position(TRAINING, [chart, article])
    assert (position.value, position.disputed) == (PositionValue.yes, False)
    assert len(position.assessments) == 2


def test_a_tie_on_the_date_goes_to_the_highest_id() -> None:
    day = date(2023, 3, 2)
    low = assessment("yes", day, id=7)
    high = assessment("decreasing", day, source=ARTICLE, id=9)
    for order in ([low, high], [high, low]):
        position = derive_position(TRAINING, order)
        assert (position.value, position.disputed) == (PositionValue.decreasing, True)
        assert position.assessments == (high, low)


def test_a_superseded_dispute_is_no_longer_one() -> None:
    """A source that changed its mind to agree with the other ends the dispute."""
    chart = assessment("yes", date(2023, 3, 2))
    article_then = assessment("no", date(2023, 3, 10), source=ARTICLE)
    article_now = assessment("yes", date(2023, 4, 12), source=ARTICLE)
    position = derive_position(TRAINING, [chart, article_then, article_now])
    assert (position.value, position.disputed) == (PositionValue.yes, False)
    assert position.assessments == (article_now, chart)


def test_positions_come_in_chart_order_one_per_category() -> None:
    will = assessment("yes", date(2023, 3, 2), category=CategoryKey.future_will)
    training = assessment("no", date(2023, 3, 2), category=CategoryKey.training)
    positions = derive_positions([will, training])
    assert [p.category for p in positions] == list(CategoryKey)
    assert [p.value for p in positions] == ["no", "unknown", "unknown", "yes"]
    assert positions[0].assessments == (training,)
    assert positions[3].assessments == (will,)


def test_each_category_is_derived_on_its_own() -> None:
    """A newer assessment in one category never touches another category's position."""
    training = assessment("no", date(2023, 1, 1), category=CategoryKey.training)
    lethal = assessment("yes", date(2023, 6, 1), category=CategoryKey.lethal_aid)
    positions = derive_positions([lethal, training])
    assert (positions[0].value, positions[0].as_of) == ("no", date(2023, 1, 1))
    assert (positions[1].value, positions[1].as_of) == ("yes", date(2023, 6, 1))


# -- the canonical date (app.assessments.snapshots)

START = date(2023, 1, 1)
DAYS = 20
# A source has at most one assessment per category and date (the table's unique key).
_keys = st.tuples(
    st.sampled_from(list(CategoryKey)),
    st.sampled_from([CHART, ARTICLE, "telegram"]),
    st.integers(0, DAYS),
)
_histories = st.lists(
    st.tuples(_keys, st.sampled_from(list(AssessedValue))),
    max_size=12,
    unique_by=lambda drawn: drawn[0],
)
# Requested dates from before the first possible assessment to after the last; None: today.
_as_of = st.none() | st.integers(-3, DAYS + 3).map(lambda day: START + timedelta(days=day))


def _counted(assessments: Iterable[Assessment], as_of: date | None) -> list[Assessment]:
    """The SQL half's date cut-off (nothing here is retracted)."""
    return [a for a in assessments if as_of is None or a.as_of <= as_of]


@settings(deadline=None, max_examples=300)
@given(history=_histories, as_of=_as_of)
def test_every_as_of_reads_the_positions_of_its_canonical_date(
    history: list[tuple[tuple[CategoryKey, str, int], AssessedValue]], as_of: date | None
) -> None:
    assessments = [
        assessment(value, START + timedelta(days=day), source=source, category=category, id=i)
        for i, ((category, source, day), value) in enumerate(history, start=1)
    ]
    dates = sorted({a.as_of for a in assessments})
    canonical = canonical_date(dates, as_of)
    # The canonical date is an assessment's date (or none yet), the last one up to as_of.
    assert canonical in dates or canonical == BEFORE_ANY
    if as_of is not None:
        assert canonical <= as_of
    assert not [d for d in dates if canonical < d and (as_of is None or d <= as_of)]
    # So reading at as_of and at its canonical date derives the same positions.
    assert derive_positions(_counted(assessments, as_of)) == derive_positions(
        _counted(assessments, canonical)
    )
