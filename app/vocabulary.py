"""The controlled vocabularies: their string values are public API and never change meaning."""

from __future__ import annotations

from enum import StrEnum


class CategoryKey(StrEnum):
    """The four assistance categories the chart is reported to assess, in our fixed order
    (the article does not give the chart's own column order)."""

    training = "training"
    lethal_aid = "lethal_aid"
    future_capability = "future_capability"
    future_will = "future_will"


class AssessedValue(StrEnum):
    """A value a source can assert, in our vocabulary: `yes`, `no`, or `decreasing` (a
    source reporting that a government's will or capability is falling off: Delo's
    "decreasing political will" and "reduced military capabilities"; the chart's own mark
    is not known). `unknown` is deliberately absent: it is never stored."""

    yes = "yes"
    no = "no"
    decreasing = "decreasing"


class PositionValue(StrEnum):
    """What a category reads for a country: an assessed value, or `unknown` when no source
    we hold reports one. That includes governments a source may not have covered (the
    chart has 38 rows; reporting names 19 of them): `coverage` tells the two apart.
    `unknown` means "not reported" and is never the same as `no`."""

    yes = "yes"
    no = "no"
    decreasing = "decreasing"
    unknown = "unknown"


class SourceKind(StrEnum):
    """What kind of thing a source is."""

    leaked_document = "leaked_document"
    news_report = "news_report"
    official_statement = "official_statement"
    online_posting = "online_posting"
    analysis = "analysis"
    other = "other"


class VerificationStatus(StrEnum):
    """How far a source's authenticity has been established."""

    verified = "verified"
    unverified = "unverified"
    disputed = "disputed"
    not_applicable = "not_applicable"


class KeyScope(StrEnum):
    """What an API key may do: `write` records assessments; `admin` also manages sources."""

    write = "write"
    admin = "admin"


class ChangeAction(StrEnum):
    """What a change-log entry did."""

    create = "create"
    update = "update"
    retract = "retract"


class DateQualifier(StrEnum):
    """How a date is known: `exact`, or `on_or_after` when only a lower bound is (a report
    that carries no date but cites one published on that day)."""

    exact = "exact"
    on_or_after = "on_or_after"


class ClaimKind(StrEnum):
    """What a claim says: `lumped` names countries with no column (a coarser relay: it can
    never become a value); `cell` repeats one category's value for its countries, as one
    relay reports it."""

    lumped = "lumped"
    cell = "cell"


class ClaimRank(StrEnum):
    """How far a claim is trusted, as Wikidata ranks statements: `normal`, or `deprecated`
    for a relay known to misreport (kept, with the reason, and never counted)."""

    normal = "normal"
    deprecated = "deprecated"


class Coverage(StrEnum):
    """Whether a value is known, and if not, whether the government is known to be among
    those a source assessed (a row of the chart): `reported`, `covered_not_reported` (a
    row we know of whose value no report gives), `not_known_covered` (no source we hold is
    known to have assessed it)."""

    reported = "reported"
    covered_not_reported = "covered_not_reported"
    not_known_covered = "not_known_covered"
