from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.countries.models import Country
from app.errors import NotFound


def find_country(session: Session, *, code: str) -> Country | None:
    """Look a country up by alpha-2 or alpha-3 code, case-insensitively."""
    code = code.upper()
    column = Country.code if len(code) == 2 else Country.alpha3
    return session.scalar(select(Country).where(column == code))


def get_country(session: Session, *, code: str) -> Country:
    country = find_country(session, code=code)
    if country is None:
        raise NotFound(f"No country with code {code!r} in the catalogue.")
    return country


def list_countries(
    session: Session,
    *,
    q: str | None = None,
    codes: Collection[str] | None = None,
    limit: int | None,
    offset: int,
) -> tuple[Sequence[Country], int]:
    """Countries ordered by name, and how many match; `q` matches name or exact codes,
    `codes` (None: any) lists the alpha-2 codes to keep."""
    query = select(Country)
    if codes is not None:
        query = query.where(Country.code.in_(sorted(codes)))
    if q:
        needle = q.lower()
        query = query.where(
            or_(
                func.lower(Country.name).contains(needle, autoescape=True),
                func.lower(Country.code) == needle,
                func.lower(Country.alpha3) == needle,
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Country.name, Country.code).limit(limit).offset(offset))
    return rows.all(), total


def all_countries(session: Session) -> Sequence[Country]:
    return session.scalars(select(Country).order_by(Country.name, Country.code)).all()
