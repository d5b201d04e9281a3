from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.categories.models import Category
from app.errors import NotFound
from app.vocabulary import CategoryKey


def list_categories(session: Session) -> Sequence[Category]:
    return session.scalars(select(Category).order_by(Category.position)).all()


def get_category(session: Session, *, key: str) -> Category:
    try:
        category_key = CategoryKey(key)
    except ValueError:
        category_key = None
    category = session.get(Category, category_key) if category_key else None
    if category is None:
        allowed = ", ".join(k.value for k in CategoryKey)
        raise NotFound(f"No category {key!r}; the categories are {allowed}.")
    return category
