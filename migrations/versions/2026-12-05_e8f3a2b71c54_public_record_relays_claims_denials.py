"""The public record (issue 19): relay chains, languages, claims and denials.

- `sources` gain `language` (ISO 639-1), `relays` (the ids of the sources a report carried
  values from: its upstream hops) and `published_on_qualifier` (`on_or_after` when the
  date is only a lower bound);
- `assessments` gain `relayed_through` (the hops between the source and `reported_via`)
  and `evidence_language`;
- `claims` (what a relay says the chart holds, never counted) and `denials` (statements
  that contradict a value) are new, versioned like every table a release serves.

Existing rows keep null in the new columns: a release's hash leaves a later column out
while it is null (app.releases.frozen), so releases made before stay recomputable.

Revision ID: e8f3a2b71c54
Revises: d5b2c8e41a93
Create Date: 2026-12-05 13:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from app.releases.history import create_triggers, drop_triggers

revision: str = "e8f3a2b71c54"
down_revision: str | None = "d5b2c8e41a93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The content columns of the two changed tables as they are after this revision, in the
# live tables' column order (the triggers copy them into the history).
SOURCES = [
    "id", "title", "kind", "publisher", "url", "published_on", "document_date",
    "classification", "verification_status", "verification_note", "coverage",
    "retracted_at", "retraction_note", "version",
    "published_on_qualifier", "language", "relays",
]  # fmt: skip
ASSESSMENTS = [
    "id", "country_code", "category_key", "source_id", "reported_via_id", "as_of",
    "value", "evidence", "note", "retracted_at", "retraction_note", "version",
    "relayed_through", "evidence_language",
]  # fmt: skip
NEW_COLUMNS: dict[str, list[tuple[str, sa.types.TypeEngine[Any]]]] = {
    "sources": [
        ("published_on_qualifier", sa.String(length=32)),
        ("language", sa.String(length=2)),
        ("relays", sa.JSON()),
    ],
    "assessments": [("relayed_through", sa.JSON()), ("evidence_language", sa.String(length=2))],
}
NEW_TABLES = {
    "claims": [
        "id", "kind", "rank", "rank_reason", "source_id", "about_source_id", "countries",
        "category_key", "value", "stated_on", "stated_on_qualifier", "summary", "language",
        "note",
    ],
    "denials": [
        "id", "country_code", "category_key", "source_id", "speaker", "speaker_role",
        "stated_on", "summary", "reported_in", "note",
    ],
}  # fmt: skip


def _enum_check(column: str, values: Sequence[str], name: str) -> sa.CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({quoted})", name=op.f(f"ck_{name}"))


def _create_statement_tables() -> None:
    categories = ("training", "lethal_aid", "future_capability", "future_will")
    op.create_table(
        "claims",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("rank", sa.String(length=32), nullable=False),
        sa.Column("rank_reason", sa.Text(), nullable=True),
        sa.Column("source_id", sa.String(length=100), nullable=False),
        sa.Column("about_source_id", sa.String(length=100), nullable=False),
        sa.Column("countries", sa.JSON(), nullable=False),
        sa.Column("category_key", sa.String(length=32), nullable=True),
        sa.Column("value", sa.String(length=32), nullable=True),
        sa.Column("stated_on", sa.Date(), nullable=False),
        sa.Column("stated_on_qualifier", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("valid_from_revision", sa.Integer(), server_default="0", nullable=False),
        _enum_check("kind", ("lumped", "cell"), "claims_claim_kind"),
        _enum_check("rank", ("normal", "deprecated"), "claims_claim_rank"),
        _enum_check("category_key", categories, "claims_claim_category_key"),
        _enum_check("value", ("yes", "no", "decreasing"), "claims_claim_value"),
        _enum_check("stated_on_qualifier", ("exact", "on_or_after"), "claims_claim_date_qualifier"),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_claims_source_id_sources")
        ),
        sa.ForeignKeyConstraint(
            ["about_source_id"], ["sources.id"], name=op.f("fk_claims_about_source_id_sources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
    )
    op.create_index("ix_claims_source_id", "claims", ["source_id"])
    op.create_table(
        "denials",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("category_key", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=100), nullable=False),
        sa.Column("speaker", sa.String(length=300), nullable=False),
        sa.Column("speaker_role", sa.String(length=300), nullable=False),
        sa.Column("stated_on", sa.Date(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("reported_in", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("valid_from_revision", sa.Integer(), server_default="0", nullable=False),
        _enum_check("category_key", categories, "denials_denial_category_key"),
        sa.ForeignKeyConstraint(
            ["country_code"], ["countries.code"], name=op.f("fk_denials_country_code_countries")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_denials_source_id_sources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_denials")),
    )
    op.create_index("ix_denials_country_category", "denials", ["country_code", "category_key"])


def _create_history(table: str, columns: Sequence[str], lookups: Sequence[Sequence[str]]) -> None:
    live = sa.Table(table, sa.MetaData(), autoload_with=op.get_bind())
    history = f"{table}_history"
    op.create_table(
        history,
        sa.Column("history_id", sa.Integer(), nullable=False),
        *[sa.Column(name, live.c[name].type, nullable=live.c[name].nullable) for name in columns],
        sa.Column("valid_from_revision", sa.Integer(), nullable=False),
        sa.Column("valid_to_revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("history_id", name=op.f(f"pk_{history}")),
    )
    for n, lookup in enumerate(lookups, start=1):
        op.create_index(op.f(f"ix_{history}_key{n}"), history, list(lookup))


def upgrade() -> None:
    bind = op.get_bind()
    for table, columns in NEW_COLUMNS.items():
        drop_triggers(bind, table)
        with op.batch_alter_table(table) as batch:
            for name, type_ in columns:
                batch.add_column(sa.Column(name, type_, nullable=True))
        with op.batch_alter_table(f"{table}_history") as batch:
            for name, type_ in columns:
                batch.add_column(sa.Column(name, type_, nullable=True))
    with op.batch_alter_table("sources") as batch:
        batch.create_check_constraint(
            op.f("ck_sources_date_qualifier"), "published_on_qualifier IN ('exact', 'on_or_after')"
        )
    create_triggers(bind, "sources", SOURCES, "id")
    create_triggers(bind, "assessments", ASSESSMENTS, "id")
    _create_statement_tables()
    _create_history("claims", NEW_TABLES["claims"], [("id",), ("source_id",)])
    _create_history("denials", NEW_TABLES["denials"], [("id",), ("country_code", "category_key")])
    for table, names in NEW_TABLES.items():
        create_triggers(bind, table, names, "id")


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(NEW_TABLES):
        drop_triggers(bind, table)
        op.drop_table(f"{table}_history")
        op.drop_table(table)
    for table, columns in NEW_COLUMNS.items():
        drop_triggers(bind, table)
        for name in (table, f"{table}_history"):
            with op.batch_alter_table(name) as batch:
                if name == "sources":
                    batch.drop_constraint(op.f("ck_sources_date_qualifier"), type_="check")
                for column_name, _type in reversed(columns):
                    batch.drop_column(column_name)
    create_triggers(bind, "sources", SOURCES[:-3], "id")
    create_triggers(bind, "assessments", ASSESSMENTS[:-2], "id")
