"""Sources: coverage (which governments a source assessed) and retraction (issue 13).

`coverage` is JSON ({count, known, complete_list_public}), null where nothing is known of
it. A retracted source keeps its row; its assessments stop counting in every position.
Existing sources start with no coverage and unretracted; the seed files set coverage.

Revision ID: c7a3e91d2f40
Revises: b162477ba5e0
Create Date: 2026-12-01 23:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c7a3e91d2f40"
down_revision: str | None = "b162477ba5e0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coverage", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("retracted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("retraction_note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("retraction_note")
        batch_op.drop_column("retracted_at")
        batch_op.drop_column("coverage")
