from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from app.schemas import AppModel
from app.vocabulary import ChangeAction


class ChangeRead(AppModel):
    """One entry of the change log."""

    id: int = Field(description="Cursor: pass the last id you saw as `since`.", examples=[14])
    at: datetime = Field(description="When the change was committed (UTC).")
    actor: str = Field(description="The API key's name, or `seed` for the seed loader.")
    action: ChangeAction = Field(description="What happened.")
    entity: str = Field(
        description="`country`, `category`, `source`, `assessment`, `group` or `group_membership`."
    )
    entity_id: str = Field(description="The changed entity's id.", examples=["1"])
    before: dict[str, Any] | None = Field(description="The entity before; null on create.")
    after: dict[str, Any] | None = Field(description="The entity after.")


class ChangeFeed(AppModel):
    """A slice of the change log, oldest first."""

    items: list[ChangeRead] = Field(description="Entries after `since`, oldest first.")
    next_since: int = Field(
        description="Pass as `since` to fetch what follows; equals `since` when nothing new."
    )
