"""`/metrics` of the shipped `serve`, started as the Docker image and compose replicas start
it: no PROMETHEUS_MULTIPROC_DIR in its environment (issue 20).

Regressions: under one worker `/metrics` was empty (prometheus-client was imported before
`serve` set the variable, so counts stayed in memory while the scrape read the empty
directory); under Granian every worker was (its workers are forked from that process);
every `serve` left its `cp-metrics-*` directory behind, even after SIGTERM; and frozen
release reads were labelled `/releases/{version}/{path}/{path}`.

Each worker hands its counts over every COUNT_INTERVAL, so a scrape waits for them to
settle (bounded), then asserts exact figures. Where metrics live does not depend on the
database, so these servers share one seeded SQLite file (they only read), whatever
`--backend` says.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app import migrating
from app.observability.metrics import COUNT_INTERVAL
from app.observability.multiproc import MULTIPROC_ENV
from app.settings import Settings
from tests.factories import load_seed_folder
from tests.observability.test_metrics import POSITIONS_ROUTE, requests_of, scrape
from tests.servers import running_server

FROZEN_ROUTE = "/releases/{version}/countries/{code}/positions"
LIVE_READS = 24
FROZEN_READS = 6
SETTLE_BOUND = 10.0  # seconds: the most a scrape waits for every worker's counts


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("serve-metrics") / "db.sqlite3"
    settings = Settings(database_url=f"sqlite:///{path}")
    migrating.upgrade(settings)
    load_seed_folder(settings)
    release = [sys.executable, "-m", "app", "release", "create", "2026.1"]
    subprocess.run(release, env={**os.environ, "DATABASE_URL": settings.database_url}, check=True)
    return settings.database_url


def _dead_pid() -> int:
    finished = subprocess.Popen([sys.executable, "-c", ""])
    finished.wait()
    return finished.pid


def _settled(base: str, live: int, frozen: int) -> str:
    """A scrape once the counts have reached `live` and `frozen` (or the bound has passed)."""
    deadline = time.monotonic() + SETTLE_BOUND
    with httpx.Client(base_url=base) as client:
        while True:
            text = scrape(client)
            reached = (
                requests_of(text, POSITIONS_ROUTE, "200") >= live
                and requests_of(text, FROZEN_ROUTE, "200") >= frozen
            )
            if reached or time.monotonic() > deadline:
                # Settled: nothing more arrives later (a count is never handed over twice).
                time.sleep(3 * COUNT_INTERVAL)
                return scrape(client)
            time.sleep(COUNT_INTERVAL)


@pytest.mark.parametrize(
    ("server", "workers"),
    [("uvicorn", 1), ("uvicorn", 2), ("granian", 1), ("granian", 2)],
    ids=["uvicorn-1", "uvicorn-2", "granian-1", "granian-2"],
)
def test_serve_counts_every_request_exactly_and_leaves_no_metrics_directory(
    database_url: str,
    tmp_path: Path,
    server: str,
    workers: int,
) -> None:
    temp = tmp_path / "tmp"  # the server's temp dir (TMPDIR)
    temp.mkdir()
    stale = temp / f"cp-metrics-{_dead_pid()}-k1ll3d"  # left by a `serve` killed outright
    stale.mkdir()
    (stale / "counter_1.db").write_bytes(b"old")
    alive = temp / f"cp-metrics-{os.getpid()}-l1ve"  # a running `serve`'s (this process)
    alive.mkdir()
    command = [sys.executable, "-m", "app", "serve", "--server", server]
    command += ["--workers", str(workers)]
    with running_server(
        database_url,
        command,
        extra_env={"TMPDIR": str(temp)},
        unset_env=[MULTIPROC_ENV],
        timeout=120,
    ) as base:
        assert not stale.exists()
        made = set(temp.glob("cp-metrics-*")) - {alive}
        assert len(made) == (1 if workers > 1 else 0), made  # one worker counts in memory
        # A fresh connection per request, so every worker takes some.
        for index in range(LIVE_READS):
            code = ("AT", "RS", "BE", "FR")[index % 4]
            assert httpx.get(f"{base}/countries/{code}/positions").status_code == 200
        for _ in range(FROZEN_READS):
            assert httpx.get(f"{base}/releases/2026.1/countries/RS/positions").status_code == 200
        text = _settled(base, LIVE_READS, FROZEN_READS)
    assert requests_of(text, POSITIONS_ROUTE, "200") == LIVE_READS, text
    assert requests_of(text, FROZEN_ROUTE, "200") == FROZEN_READS, text
    assert "{path}" not in text
    # Stopped with SIGTERM: its own directory is gone, the live one's is not.
    assert set(temp.glob("cp-metrics-*")) == {alive}


def test_metrics_use_files_even_if_prometheus_client_was_imported_first(tmp_path: Path) -> None:
    """The storage is chosen when the metrics are built, not only when prometheus-client is
    first imported: an import ahead of PROMETHEUS_MULTIPROC_DIR cannot strand the counts."""
    script = f"""
import os, prometheus_client
os.environ["{MULTIPROC_ENV}"] = {str(tmp_path)!r}
from app.observability.metrics import Metrics
metrics = Metrics()
metrics.observe_request("/positions", "GET", 200, 0.01, None, None)
print(metrics.exposition().decode())
"""
    env = {k: v for k, v in os.environ.items() if k != MULTIPROC_ENV}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert requests_of(done.stdout, "/positions", "200") == 1
    assert list(tmp_path.glob("counter_*.db"))
