"""Docker has no engine here: keep the image and compose file correct by design, and run
the same entrypoint commands they run."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml

from app.settings import Settings
from tests.servers import ROOT, running_server


def test_dockerfile_copies_what_exists_and_runs_the_entrypoint() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (.+) \S+$", dockerfile, flags=re.MULTILINE):
        for name in source.split():
            assert (ROOT / name).exists(), name
    assert 'ENTRYPOINT ["./scripts/entrypoint.sh"]' in dockerfile


def test_compose_runs_setup_once_then_replicas_behind_a_balancer() -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["setup"]["entrypoint"][-1] == (
        "country-positions migrate && country-positions seed"
    )
    api = services["api"]
    assert api["environment"]["CP_SKIP_SETUP"] == "1"
    assert api["deploy"]["replicas"] >= 2
    assert api["depends_on"]["setup"]["condition"] == "service_completed_successfully"
    assert "8000:8000" in services["lb"]["ports"]
    nginx = Path(ROOT / services["lb"]["volumes"][0].split(":")[0])
    assert "server api:8000" in nginx.read_text()


def test_entrypoint_serves_only_when_setup_is_skipped(seeded_settings: Settings) -> None:
    entrypoint = [str(ROOT / "scripts" / "entrypoint.sh")]
    with running_server(
        seeded_settings.database_url, entrypoint, extra_env={"CP_SKIP_SETUP": "1"}
    ) as base:
        assert httpx.get(f"{base}/countries/RS").json()["name"] == "Serbia"


def test_serve_with_several_workers(seeded_settings: Settings) -> None:
    command = [sys.executable, "-m", "app", "serve", "--workers", "2"]
    with running_server(seeded_settings.database_url, command) as base:
        for _ in range(10):
            assert httpx.get(f"{base}/countries/AT/positions").status_code == 200
