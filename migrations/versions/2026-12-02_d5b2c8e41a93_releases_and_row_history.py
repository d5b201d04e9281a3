"""Releases, and row history by validity ranges for every table a release serves.

Each versioned table gains `valid_from_revision` and a `<table>_history` twin with the
same columns plus [valid_from_revision, valid_to_revision); triggers keep both
(app.releases.history). Rows existing before this migration hold from revision 0.

Revision ID: d5b2c8e41a93
Revises: c4e1a9d20b7f
Create Date: 2026-12-02 04:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.releases.history import create_triggers, drop_triggers

revision: str = "d5b2c8e41a93"
down_revision: str | None = "c4e1a9d20b7f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table: (primary key, content columns), as they are at this revision.
VERSIONED = {
    "countries": ("code", ["code", "alpha3", "numeric", "name", "official_name"]),
    "categories": ("key", ["key", "position", "label", "definition"]),
    "sources": (
        "id",
        [
            "id", "title", "kind", "publisher", "url", "published_on", "document_date",
            "classification", "verification_status", "verification_note", "coverage",
            "retracted_at", "retraction_note", "version",
        ],
    ),
    "assessments": (
        "id",
        [
            "id", "country_code", "category_key", "source_id", "reported_via_id", "as_of",
            "value", "evidence", "note", "retracted_at", "retraction_note", "version",
        ],
    ),
    "groups": ("key", ["key", "name", "description", "source_id"]),
    "group_memberships": (
        "id",
        ["id", "group_key", "country_code", "joined", "left", "source_id", "note"],
    ),
}  # fmt: skip
LOOKUP_KEYS: dict[str, list[tuple[str, ...]]] = {
    "countries": [("code",), ("alpha3",)],
    "categories": [("key",), ("position",)],
    "sources": [("id",)],
    "assessments": [
        ("id",),
        ("country_code", "category_key", "as_of"),
        ("country_code", "category_key", "source_id", "as_of"),
        ("source_id",),
    ],
    "groups": [("key",)],
    "group_memberships": [("id",), ("group_key", "country_code", "joined")],
}


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("version", sa.String(length=20), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("changes_after", sa.Integer(), nullable=False),
        sa.Column("changes_upto", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_releases")),
        sa.UniqueConstraint("sequence", name=op.f("uq_releases_sequence")),
    )
    bind = op.get_bind()
    for table, (key, columns) in VERSIONED.items():
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("valid_from_revision", sa.Integer(), server_default="0", nullable=False)
            )
        live = sa.Table(table, sa.MetaData(), autoload_with=bind)
        history = f"{table}_history"
        op.create_table(
            history,
            sa.Column("history_id", sa.Integer(), nullable=False),
            *[
                sa.Column(name, live.c[name].type, nullable=live.c[name].nullable)
                for name in columns
            ],
            sa.Column("valid_from_revision", sa.Integer(), nullable=False),
            sa.Column("valid_to_revision", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("history_id", name=op.f(f"pk_{history}")),
        )
        # The live table's lookup keys (app.releases.history.lookup_keys), so frozen reads
        # probe the history as they probe the live rows.
        for n, lookup in enumerate(LOOKUP_KEYS[table], start=1):
            op.create_index(op.f(f"ix_{history}_key{n}"), history, list(lookup))
        create_triggers(bind, table, columns, key)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(VERSIONED):
        drop_triggers(bind, table)
        op.drop_table(f"{table}_history")
        with op.batch_alter_table(table) as batch:
            batch.drop_column("valid_from_revision")
    op.drop_table("releases")
