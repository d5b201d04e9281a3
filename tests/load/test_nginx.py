"""Debian's nginx in front of the real server, with the shipped deploy/nginx.conf.template.

The template is rendered as the official image renders it (envsubst of NGINX_LISTEN and
API_UPSTREAM, nothing else), pointed at `country-positions serve` on a free port; pid and
error log go to the test's directory through `-g`. Through it: links never name a Host an
attacker sent, a burst beyond `limit_req` is a 429 problem, oversized headers a 431, a big
body a 413, a dead upstream a 502, `/metrics` a 404, and ordinary requests get the app's
answer and ETag.

Needs `nginx` on PATH (or /usr/sbin/nginx); skips loudly without it, fails with
REQUIRE_NGINX=1 (set by .ci/run, which installs Debian's nginx).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
import yaml

from app.settings import Settings
from tests.problems import assert_problem
from tests.servers import ROOT, free_port, running_server

TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
COMPOSE = ROOT / "docker-compose.yml"
PAGE = "/countries?limit=10&offset=10"
EVIL = "evil.example"
# The app's own limiter stays off: every 429 seen here must be nginx's.
APP_ENV = {"CP_RATE_LIMIT_ENABLED": "false", "CP_TRUSTED_PROXIES": '["127.0.0.1"]'}


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None
    )
    if found is None:
        reason = "nginx is not installed (apt-get install -y nginx)"
        if os.environ.get("REQUIRE_NGINX") == "1":
            pytest.fail(f"{reason}; REQUIRE_NGINX=1")
        pytest.skip(f"nginx tests skipped: {reason}")
    return found


def render(template: str, *, listen: str, upstream: str) -> str:
    """What the image's envsubst step makes of the template, for these two variables."""
    rendered = template.replace("${NGINX_LISTEN}", listen).replace("${API_UPSTREAM}", upstream)
    assert "${" not in rendered, "the template uses a variable compose does not set"
    return rendered


@contextmanager
def running_nginx(upstream: str, workdir: Path) -> Iterator[str]:
    """nginx (foreground) with the rendered template in front of `upstream`; its base URL."""
    binary = nginx_binary()
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(render(TEMPLATE.read_text(), listen=f"127.0.0.1:{port}", upstream=upstream))
    log = workdir / "error.log"
    globals_ = f"daemon off; pid {workdir / 'nginx.pid'}; error_log {log} notice;"
    argv = [binary, "-p", str(workdir), "-c", str(conf), "-g", globals_]
    with (workdir / "stdout.log").open("w") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 10
            while True:
                if process.poll() is not None:
                    output = (workdir / "stdout.log").read_text()
                    errors = log.read_text() if log.exists() else ""
                    raise RuntimeError(f"nginx exited with {process.returncode}:\n{output}{errors}")
                try:
                    httpx.get(f"{base}/healthz", timeout=1)
                    break  # any answer: nginx listens (the upstream was ready before)
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"nginx not answering on {base}")
                time.sleep(0.05)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def nginx_in_front(settings: Settings, workdir: Path, **env: str) -> Iterator[tuple[str, str]]:
    """The app on `settings` (with `env`) and nginx before it: both base URLs."""
    app_env = {**APP_ENV, **env}
    with (
        running_server(settings.database_url, extra_env=app_env) as app,
        running_nginx(urlsplit(app).netloc, workdir) as front,
    ):
        yield app, front


@pytest.fixture(autouse=True)
def _needs_nginx() -> None:
    nginx_binary()


def _everything(response: httpx.Response) -> str:
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    return f"{headers}\n{response.text}"


def test_links_through_nginx_never_name_a_forged_host(
    seeded_settings: Settings, tmp_path: Path
) -> None:
    with nginx_in_front(seeded_settings, tmp_path) as (app, front):
        forged = httpx.get(f"{front}{PAGE}", headers={"Host": EVIL})
        assert forged.status_code == 200
        assert EVIL not in _everything(forged)
        for _ in range(2):  # the second is a cache hit
            response = httpx.get(f"{front}{PAGE}")
            assert response.status_code == 200
            assert EVIL not in _everything(response)
            for link in response.links.values():
                resolved = urlsplit(urljoin(str(response.url), link["url"]))
                assert resolved.netloc == urlsplit(front).netloc, link
            assert response.links["next"]["url"].endswith("/countries?limit=10&offset=20")
        direct = httpx.get(f"{app}{PAGE}")
        assert response.headers["etag"] == direct.headers["etag"]
        assert response.json() == direct.json()


def test_compose_allowed_hosts_refuse_a_forged_host_through_nginx(
    seeded_settings: Settings, tmp_path: Path
) -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    allowed = compose["services"]["api"]["environment"]["CP_ALLOWED_HOSTS"]
    with nginx_in_front(seeded_settings, tmp_path, CP_ALLOWED_HOSTS=allowed) as (_, front):
        # nginx passes the Host with its port: 127.0.0.1:<port> is the compose default's.
        assert httpx.get(f"{front}{PAGE}").status_code == 200
        refused = httpx.get(f"{front}{PAGE}", headers={"Host": EVIL})
        assert_problem(refused, 400, "/problems/invalid-host")


def test_ordinary_request_gets_the_app_answer_and_etag(
    seeded_settings: Settings, tmp_path: Path
) -> None:
    with nginx_in_front(seeded_settings, tmp_path) as (app, front):
        response = httpx.get(f"{front}/countries/RS/positions")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        direct = httpx.get(f"{app}/countries/RS/positions")
        assert response.headers["etag"] == direct.headers["etag"]
        assert response.headers["x-content-type-options"] == "nosniff"
        again = httpx.get(
            f"{front}/countries/RS/positions", headers={"If-None-Match": response.headers["etag"]}
        )
        assert again.status_code == 304


def test_metrics_are_refused_at_the_edge_and_scraped_from_the_replica(
    seeded_settings: Settings, tmp_path: Path
) -> None:
    """Issue 20: /metrics was public through nginx, and a replica answers it before its host
    check and limiter. nginx refuses it however the path is spelt; Prometheus scrapes each
    replica directly (deploy/prometheus.yml)."""
    with nginx_in_front(seeded_settings, tmp_path) as (app, front):
        refused = httpx.get(f"{front}/metrics")
        assert_problem(refused, 404, "/problems/not-found")
        assert refused.headers["x-content-type-options"] == "nosniff"
        for spelling in ("/%6Detrics", "//metrics", "/metrics?format=text", "/./metrics"):
            response = httpx.get(f"{front}{spelling}")
            assert response.status_code == 404, spelling
            assert response.json()["type"] == "/problems/not-found", spelling
        assert httpx.head(f"{front}/metrics").status_code == 404
        scraped = httpx.get(f"{app}/metrics")
        assert scraped.status_code == 200
        assert "cp_http_requests_total" in scraped.text


def test_oversized_requests_and_a_dead_upstream_are_problems(
    seeded_settings: Settings, tmp_path: Path
) -> None:
    with nginx_in_front(seeded_settings, tmp_path) as (_, front):
        many = {f"X-Filler-{i}": "y" * 1000 for i in range(20)}  # 20 KB in all
        one = {"X-Filler": "y" * 9000}  # more than one 8 KB buffer
        for headers in (many, one):
            response = httpx.get(f"{front}/countries", headers=headers)
            assert_problem(response, 431, "/problems/headers-too-large")
            assert response.headers["x-content-type-options"] == "nosniff"
        under = {f"X-Filler-{i}": "y" * 1000 for i in range(12)}
        assert httpx.get(f"{front}/countries", headers=under).status_code == 200
        body = b"{" + b" " * 70_000 + b"}"
        response = httpx.post(
            f"{front}/sources", content=body, headers={"Content-Type": "application/json"}
        )
        assert_problem(response, 413, "/problems/payload-too-large")
    # Nothing listens upstream: nginx answers for it.
    (tmp_path / "dead").mkdir()
    with running_nginx(f"127.0.0.1:{free_port()}", tmp_path / "dead") as front:
        response = httpx.get(f"{front}/countries")
        assert_problem(response, 502, "/problems/bad-gateway")
        assert response.headers["x-content-type-options"] == "nosniff"


def test_a_burst_beyond_limit_req_gets_429_problems(
    seeded_settings: Settings, tmp_path: Path
) -> None:
    with nginx_in_front(seeded_settings, tmp_path) as (_, front):
        # Up to 3000 requests on 64 connections, stopping at the first 429: past
        # limit_conn's 32 connections per client, or past limit_req's 50 a second plus the
        # burst of 100, whichever comes first (a slow, busy machine reaches the first).
        statuses, limited = asyncio.run(_burst(f"{front}/countries/RS/positions", 3000, 64))
        assert set(statuses) <= {200, 429}, statuses
        assert statuses.count(429) > 0
        assert limited is not None
        assert_problem(limited, 429, "/problems/rate-limited")
        assert limited.headers["retry-after"] == "1"
        # The bucket drains at 50 requests a second: normal service within a few seconds.
        deadline = time.monotonic() + 10
        while httpx.get(f"{front}/countries/RS/positions").status_code == 429:
            assert time.monotonic() < deadline, "still limited 10 s after the burst"
            time.sleep(0.2)


async def _burst(url: str, total: int, concurrency: int) -> tuple[list[int], httpx.Response | None]:
    """Up to `total` GETs over `concurrency` connections, until one is a 429: every
    status, and that 429."""
    statuses: list[int] = []
    limited: httpx.Response | None = None
    queue = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def worker() -> None:
            nonlocal limited
            for _ in queue:
                if limited is not None:
                    return  # the limit has shown itself: no need to keep hammering
                response = await client.get(url)
                statuses.append(response.status_code)
                if response.status_code == 429:
                    limited = response

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses, limited
