"""Groups of countries (EU, NATO) and their membership spans, seed-only.

A membership runs from `joined` (inclusive) to `left` (exclusive; null: still a member);
the check keeps every span at least one day long.

Revision ID: c4e1a9d20b7f
Revises: c7a3e91d2f40
Create Date: 2026-12-01 23:55:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4e1a9d20b7f"
down_revision: str | None = "c7a3e91d2f40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("source_id", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_groups_source_id_sources")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_groups")),
    )
    op.create_table(
        "group_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_key", sa.String(length=50), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("joined", sa.Date(), nullable=False),
        sa.Column("left", sa.Date(), nullable=True),
        sa.Column("source_id", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            '"left" IS NULL OR "left" > joined',
            name=op.f("ck_group_memberships_left_after_joined"),
        ),
        sa.ForeignKeyConstraint(
            ["country_code"],
            ["countries.code"],
            name=op.f("fk_group_memberships_country_code_countries"),
        ),
        sa.ForeignKeyConstraint(
            ["group_key"], ["groups.key"], name=op.f("fk_group_memberships_group_key_groups")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_group_memberships_source_id_sources"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_memberships")),
        sa.UniqueConstraint(
            "group_key",
            "country_code",
            "joined",
            name=op.f("uq_group_memberships_group_key_country_code_joined"),
        ),
    )


def downgrade() -> None:
    op.drop_table("group_memberships")
    op.drop_table("groups")
