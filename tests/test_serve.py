"""The container's entrypoint (migrate, seed, serve) against a fresh database, over TCP."""

from __future__ import annotations

import gc

import httpx
import pytest

from app.main import create_served_app
from app.settings import Settings, get_settings
from tests.servers import ROOT, running_server


def test_entrypoint_migrates_seeds_and_serves_over_tcp(fresh_database_url: str) -> None:
    entrypoint = [str(ROOT / "scripts" / "entrypoint.sh")]
    with running_server(fresh_database_url, entrypoint) as base:
        response = httpx.get(f"{base}/countries/srb/positions")
        assert response.status_code == 200
        values = [p["value"] for p in response.json()["positions"]]
        assert values == ["no", "yes", "yes", "yes"]
        missing = httpx.get(f"{base}/countries/ZZ/positions")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        docs = httpx.get(f"{base}/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_served_app_is_kept_out_of_full_garbage_collections(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: a full collection walking every object of the app once held the first
    request after a data revision for 70-80 ms. `serve` builds the app frozen."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        app = create_served_app()
        assert gc.get_freeze_count() > 0
        assert not any(tracked is app for tracked in gc.get_objects())
        assert not any(tracked is app.router for tracked in gc.get_objects())
    finally:
        gc.unfreeze()
        get_settings.cache_clear()
    assert any(tracked is app for tracked in gc.get_objects())
