"""Initial schema: countries, categories, sources, assessments and the dataset revision.

`unknown` is never stored: an absent assessment is what reads as unknown.

Revision ID: a1df0a685b26
Revises:
Create Date: 2026-11-25 09:19:35.943965
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1df0a685b26"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "categories",
        sa.Column(
            "key",
            sa.Enum(
                "training",
                "lethal_aid",
                "future_capability",
                "future_will",
                name="category_key",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_categories")),
        sa.UniqueConstraint("position", name=op.f("uq_categories_position")),
    )
    op.create_table(
        "countries",
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("alpha3", sa.String(length=3), nullable=False),
        sa.Column("numeric", sa.String(length=3), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("official_name", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_countries")),
        sa.UniqueConstraint("alpha3", name=op.f("uq_countries_alpha3")),
    )
    op.create_table(
        "dataset_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_revision")),
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "leaked_document",
                "news_report",
                "official_statement",
                "online_posting",
                "analysis",
                "other",
                name="source_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("publisher", sa.String(length=300), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("document_date", sa.Date(), nullable=True),
        sa.Column("classification", sa.String(length=200), nullable=True),
        sa.Column(
            "verification_status",
            sa.Enum(
                "verified",
                "unverified",
                "disputed",
                "not_applicable",
                name="verification_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("verification_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
    )
    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column(
            "category_key",
            sa.Enum(
                "training",
                "lethal_aid",
                "future_capability",
                "future_will",
                name="category_key",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("source_id", sa.String(length=100), nullable=False),
        sa.Column("reported_via_id", sa.String(length=100), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column(
            "value",
            sa.Enum(
                "yes",
                "no",
                "decreasing",
                name="assessed_value",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["category_key"],
            ["categories.key"],
            name=op.f("fk_assessments_category_key_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["country_code"], ["countries.code"], name=op.f("fk_assessments_country_code_countries")
        ),
        sa.ForeignKeyConstraint(
            ["reported_via_id"], ["sources.id"], name=op.f("fk_assessments_reported_via_id_sources")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_assessments_source_id_sources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
        sa.UniqueConstraint(
            "country_code",
            "category_key",
            "source_id",
            "as_of",
            name=op.f("uq_assessments_country_code_category_key_source_id_as_of"),
        ),
    )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assessments_country_category_as_of",
            ["country_code", "category_key", "as_of"],
            unique=False,
        )
        batch_op.create_index("ix_assessments_source_id", ["source_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_index("ix_assessments_source_id")
        batch_op.drop_index("ix_assessments_country_category_as_of")

    op.drop_table("assessments")
    op.drop_table("sources")
    op.drop_table("dataset_revision")
    op.drop_table("countries")
    op.drop_table("categories")
