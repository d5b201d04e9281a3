"""Read claims and denials for positions: what a country's cells and its page show."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.statements.models import Claim, Denial
from app.vocabulary import CategoryKey, ClaimKind


@dataclass(frozen=True)
class CountryStatements:
    """One country's claims and denials as of a date: the lumped claims for the country,
    and per category the cell claims and the denials."""

    lumped: tuple[Claim, ...] = ()
    cells: dict[CategoryKey, tuple[Claim, ...]] = field(default_factory=dict)
    denials: dict[CategoryKey, tuple[Denial, ...]] = field(default_factory=dict)


def _stated_by(as_of: date | None, on: date) -> bool:
    # A date known only as a lower bound counts from that bound.
    return as_of is None or on <= as_of


def statements_for(
    session: Session, *, country_codes: Sequence[str], as_of: date | None, source_id: str | None
) -> dict[str, CountryStatements]:
    """Claims (about the source, with `source_id`) and denials (of its assessments) of each
    country stated on or before `as_of`, oldest first. Claims and denials are few: one
    query each, filtered here."""
    wanted = set(country_codes)
    lumped: dict[str, list[Claim]] = defaultdict(list)
    cells: dict[str, dict[CategoryKey, list[Claim]]] = defaultdict(lambda: defaultdict(list))
    claims = session.scalars(select(Claim).order_by(Claim.stated_on, Claim.id))
    for claim in claims:
        if not _stated_by(as_of, claim.stated_on):
            continue
        if source_id is not None and source_id not in (claim.about_source_id, claim.source_id):
            continue
        for code in wanted.intersection(claim.countries):
            if claim.kind is ClaimKind.lumped or claim.category_key is None:
                lumped[code].append(claim)
            else:
                cells[code][claim.category_key].append(claim)
    denials: dict[str, dict[CategoryKey, list[Denial]]] = defaultdict(lambda: defaultdict(list))
    query = select(Denial).where(Denial.country_code.in_(wanted))
    for denial in session.scalars(query.order_by(Denial.stated_on, Denial.id)):
        if _stated_by(as_of, denial.stated_on) and source_id in (None, denial.source_id):
            denials[denial.country_code][denial.category_key].append(denial)
    return {
        code: CountryStatements(
            lumped=tuple(lumped.get(code, ())),
            cells={k: tuple(v) for k, v in cells.get(code, {}).items()},
            denials={k: tuple(v) for k, v in denials.get(code, {}).items()},
        )
        for code in country_codes
    }


def statement_dates(session: Session, codes: Sequence[str]) -> dict[str, set[date]]:
    """The dates on which each country's claims and denials are stated: a country's
    positions document changes on them too (app.assessments.snapshots)."""
    found: dict[str, set[date]] = {code: set() for code in codes}
    for countries, on in session.execute(select(Claim.countries, Claim.stated_on)):
        for code in countries:
            if code in found:
                found[code].add(on)
    query = select(Denial.country_code, Denial.stated_on).where(Denial.country_code.in_(codes))
    for code, on in session.execute(query):
        found[code].add(on)
    return found


def list_claims(
    session: Session, *, country: str | None = None, source_id: str | None = None
) -> list[Claim]:
    """Claims naming `country`, made by or about `source_id`, oldest first."""
    query = select(Claim).order_by(Claim.stated_on, Claim.id)
    if source_id is not None:
        query = query.where((Claim.source_id == source_id) | (Claim.about_source_id == source_id))
    return [c for c in session.scalars(query) if country is None or country in c.countries]


def list_denials(
    session: Session, *, country: str | None = None, category: CategoryKey | None = None
) -> Sequence[Denial]:
    """Denials of `country`'s values (in `category`), oldest first."""
    query = select(Denial).order_by(Denial.stated_on, Denial.id)
    if country is not None:
        query = query.where(Denial.country_code == country)
    if category is not None:
        query = query.where(Denial.category_key == category)
    return session.scalars(query).all()
