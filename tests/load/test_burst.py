"""Bursts of concurrent cache-busting clients against a real `country-positions serve`.

Issue 10: 200 clients asking `/countries/RS/positions?as_of=<random date>` once stalled the
server (every client timed out, `/healthz` too, 91 s to recover). These tests assert on
outcomes only, never on timings: every request is answered (no client timeout, no reset),
statuses are 200 or a deliberate 503 `overloaded` with `Retry-After`, the probes are
answered throughout, and a fresh miss is served normally right after the burst. Each
burst is bounded (at most 6 s of load); the client timeout is generous so a stall fails
the test instead of hanging it. Rate limiting is off here (tests/conftest.py): one client
address sends everything.
"""

from __future__ import annotations

import asyncio

import httpx

from app.middleware.admission import OVERLOADED
from app.settings import Settings
from bench.burst import Outcome, burst
from tests.servers import running_server

CACHED = "/countries/RS/positions"


def _assert_served_throughout(outcome: Outcome) -> None:
    assert outcome.sent > 0
    assert outcome.unanswered == 0, outcome.errors
    assert set(outcome.statuses) <= {200, 503}, outcome.statuses
    assert outcome.missing_retry_after == 0
    assert set(outcome.problem_types) <= {OVERLOADED}, outcome.problem_types
    probes = outcome.probe_statuses
    assert probes, "the probe never ran"
    assert set(probes) == {"/healthz 200", f"{CACHED} 200"}, probes
    assert outcome.recovery_s is not None, "a fresh miss was not served after the burst"


def test_200_cache_busting_clients_are_all_answered(seeded_settings: Settings) -> None:
    with running_server(seeded_settings.database_url) as base:
        outcome = asyncio.run(burst(base, clients=200, seconds=6, timeout=30))
    _assert_served_throughout(outcome)
    assert outcome.statuses[200] > 0


def test_a_small_gate_still_answers_everyone(seeded_settings: Settings) -> None:
    """One slot and a queue of two: whatever is shed is shed deliberately."""
    env = {"CP_MAX_CONCURRENCY": "1", "CP_MAX_QUEUE": "2"}
    with running_server(seeded_settings.database_url, extra_env=env) as base:
        outcome = asyncio.run(burst(base, clients=100, seconds=4, timeout=30))
        after = httpx.get(f"{base}/countries/AT/positions?as_of=2024-01-01", timeout=10)
    _assert_served_throughout(outcome)
    assert outcome.statuses[200] > 0, outcome.statuses
    assert after.status_code == 200
