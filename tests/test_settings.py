from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.cli import main
from app.settings import Settings, env_name, get_settings

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


def test_db_deadline_must_be_below_the_request_deadline() -> None:
    """A request cut at CP_DB_DEADLINE is answered 503 within CP_REQUEST_DEADLINE only if
    the first is the shorter (review of issue 10)."""
    assert Settings(db_deadline=2.5, request_deadline=3).db_deadline == 2.5
    for db_deadline in (3.0, 4.0):
        with pytest.raises(ValidationError) as raised:
            Settings(db_deadline=db_deadline, request_deadline=3)
        assert raised.value.errors()[0]["msg"] == (
            f"Value error, CP_DB_DEADLINE ({db_deadline:g} s) must be below "
            "CP_REQUEST_DEADLINE (3 s), by about a second"
        )


INVALID_SETTINGS = [
    ({"CP_CACHE_MAX_AGE": "-1"}, ["CP_CACHE_MAX_AGE: Input should be greater than or equal to 0"]),
    (
        {"CP_DB_DEADLINE": "6"},
        ["CP_DB_DEADLINE (6 s) must be below CP_REQUEST_DEADLINE (5 s), by about a second"],
    ),
    (
        {"CP_MAX_QUEUE": "-3", "CP_PUBLIC_URL": "ftp://x"},
        [
            "CP_PUBLIC_URL: must be an absolute http:// or https:// URL",
            "CP_MAX_QUEUE: Input should be greater than or equal to 0",
        ],
    ),
    (
        {"CP_CORS_ORIGINS": "not-json"},
        ['CP_CORS_ORIGINS: not valid JSON (e.g. ["a", "b"] for a list)'],
    ),
    ({"CP_CORS_ORIGINS": "[1]"}, ["CP_CORS_ORIGINS[0]: Input should be a valid string"]),
]


@pytest.mark.parametrize(("env", "errors"), INVALID_SETTINGS)
def test_every_command_reports_invalid_settings_in_one_line_each_exit_2(
    env: dict[str, str],
    errors: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for command in (["serve"], ["migrate"], ["seed", "--dry-run"]):
        get_settings.cache_clear()
        try:
            code = main(command)
        finally:
            get_settings.cache_clear()
        captured = capsys.readouterr()
        assert (code, captured.out) == (2, ""), command
        assert sorted(captured.err.splitlines()) == sorted(f"error: {e}" for e in errors)


def test_serve_with_invalid_settings_prints_no_traceback(tmp_path: Path) -> None:
    """The installed command, as an operator runs it: one line, exit 2, nothing served."""
    env = {**os.environ, "CP_DB_DEADLINE": "5", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    script = Path(sys.executable).parent / "country-positions"
    done = subprocess.run(
        [str(script), "serve", "--port", "0"], env=env, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "error: CP_DB_DEADLINE (5 s) must be below CP_REQUEST_DEADLINE (5 s), by about a second\n"
    )
