"""Releases can be withdrawn: when, by whom and why (issue 20).

A withdrawn release stays readable; it no longer counts as the latest, nor blocks a lower
version.

Revision ID: e8f1c2a7b940
Revises: e8f3a2b71c54
Create Date: 2026-12-05 13:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e8f1c2a7b940"
down_revision: str | None = "e8f3a2b71c54"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("releases") as batch:
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("withdrawn_by", sa.String(100), nullable=True))
        batch.add_column(sa.Column("withdrawal_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("releases") as batch:
        batch.drop_column("withdrawal_reason")
        batch.drop_column("withdrawn_by")
        batch.drop_column("withdrawn_at")
