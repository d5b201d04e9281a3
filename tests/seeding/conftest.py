"""Fixtures of the seeding tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.settings import Settings, get_settings
from tests.factories import SEEDS


@pytest.fixture
def database(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The test's empty database, named by DATABASE_URL for the CLI to find."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.delenv("CP_DATABASE_URL", raising=False)
    monkeypatch.setenv("CP_SEEDS_PATH", str(SEEDS))
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()
