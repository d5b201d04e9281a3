"""A real `serve --workers 2`: the request id in the header, the JSON log line and the
problem document; `/metrics` summed over both workers, moving with traffic."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import httpx

from app.observability.metrics import COUNT_INTERVAL
from app.settings import Settings
from tests.observability.test_metrics import POSITIONS_ROUTE, requests_of, samples, scrape
from tests.servers import running_server

REQUESTS = 40


def _json_lines(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def test_two_workers_share_metrics_and_log_json_lines(
    seeded_settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "app", "serve", "--workers", "2"]
    env = {"CP_LOG_FORMAT": "json", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "counter_99999.db").write_bytes(b"stale")  # emptied at start
    with running_server(
        seeded_settings.database_url, command, extra_env=env, log_path=log, timeout=120
    ) as base:
        with httpx.Client(base_url=base) as client:
            before = requests_of(scrape(client), POSITIONS_ROUTE, "200")
            missing = client.get("/countries/ZZ/positions", headers={"X-Request-ID": "abc"})
        assert missing.headers["X-Request-ID"] == "abc"
        assert missing.json()["request_id"] == "abc"
        # A fresh connection per request, so both workers take some.
        for index in range(REQUESTS):
            code = ("AT", "RS", "BE", "FR")[index % 4]
            assert httpx.get(f"{base}/countries/{code}/positions").status_code == 200
        # Each worker hands its counts to the shared files every COUNT_INTERVAL seconds.
        deadline = time.monotonic() + 5
        with httpx.Client(base_url=base) as client:
            text = scrape(client)
            while requests_of(text, POSITIONS_ROUTE, "200") - before < REQUESTS:
                assert time.monotonic() < deadline, text
                time.sleep(COUNT_INTERVAL)
                text = scrape(client)
        assert requests_of(text, POSITIONS_ROUTE, "200") - before == REQUESTS
        assert requests_of(text, POSITIONS_ROUTE, "404") == 1
        values = samples(text)
        assert values[("cp_dataset_revision", ())] >= 1
        deadline = time.monotonic() + 5
        while not any(line.get("request_id") == "abc" for line in _json_lines(log)):
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.1)
    lines = _json_lines(log)
    requests = [entry for entry in lines if entry.get("logger") == "app.access"]
    [line] = [entry for entry in requests if entry.get("request_id") == "abc"]
    assert line["status"] == 404 and line["route"] == POSITIONS_ROUTE
    assert line["problem"] == "/problems/not-found"
    assert len(requests) >= REQUESTS + 1
    workers = {entry["message"] for entry in lines if "Started server process" in str(entry)}
    assert len(workers) == 2
    # No access line from uvicorn itself: one line per request, the app's.
    assert not any(entry.get("logger") == "uvicorn.access" for entry in lines)
    assert not (tmp_path / "metrics" / "counter_99999.db").exists()
