from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings, env_name

README = Path(__file__).resolve().parent.parent / "README.md"


def test_postgres_urls_use_the_psycopg_driver() -> None:
    for url in ("postgres://u@h/db", "postgresql://u@h/db"):
        assert Settings(database_url=url).database_url == "postgresql+psycopg://u@h/db"
    assert Settings(database_url="sqlite:///x.db").is_sqlite


def test_default_database_is_an_sqlite_file_under_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("CP_DATABASE_URL", raising=False)
    assert Settings(_env_file=None).database_url == "sqlite:///var/country-positions.sqlite3"


def test_readme_documents_every_setting() -> None:
    text = README.read_text()
    for name in Settings.model_fields:
        assert f"| `{env_name(name)}` |" in text, name
    assert "| `DATABASE_URL` |" in text and "| `DATABASE_READ_URL` |" in text
