"""The container's entrypoint (migrate, seed, serve) against a fresh database, over TCP."""

from __future__ import annotations

import httpx

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
