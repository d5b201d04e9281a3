"""Docker has no engine here: keep the image and compose file correct by design, and run
the same entrypoint commands they run."""

from __future__ import annotations

import json
import re
import sys
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
    lb = services["lb"]
    assert "8000:8000" in lb["ports"]
    template, target = lb["volumes"][0].split(":")[:2]
    # The image renders /etc/nginx/templates/X.template to $NGINX_ENVSUBST_OUTPUT_DIR/X.
    assert target == "/etc/nginx/templates/nginx.conf.template"
    assert lb["environment"]["NGINX_ENVSUBST_OUTPUT_DIR"] == "/etc/nginx"
    assert lb["environment"]["API_UPSTREAM"] == "api:8000"
    text = (ROOT / template).read_text()
    # envsubst fills in every variable compose sets; nginx's own are lower case, never set.
    templated = set(re.findall(r"\$\{(\w+)\}", text))
    assert templated == {"NGINX_LISTEN", "API_UPSTREAM"} <= set(lb["environment"])
    assert not [name for name in re.findall(r"\$(\w+)", text) if not name.islower()]


def test_api_behind_the_balancer_trusts_only_its_network() -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    environment = compose["services"]["api"]["environment"]
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert json.loads(environment["CP_TRUSTED_PROXIES"]) == [subnet]
    # `docker compose up` is reached as localhost:8000 or 127.0.0.1:8000.
    allowed = Settings(allowed_hosts=json.loads(environment["CP_ALLOWED_HOSTS"])).allowed_hosts
    assert {"localhost", "127.0.0.1"} <= set(allowed)


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


def test_compose_prometheus_scrapes_every_replica_when_asked_for() -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    prometheus = compose["services"]["prometheus"]
    assert prometheus["profiles"] == ["observability"]
    config_path, target = prometheus["volumes"][0].split(":")[:2]
    assert target == "/etc/prometheus/prometheus.yml"
    config: dict[str, Any] = yaml.safe_load((ROOT / config_path).read_text())
    [job] = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    [discovery] = job["dns_sd_configs"]
    # The service name resolves to every replica; the port is the one each serves on.
    assert discovery["names"] == ["api"] and discovery["port"] == 8000
    assert compose["services"]["api"]["environment"]["CP_LOG_FORMAT"] == "json"
