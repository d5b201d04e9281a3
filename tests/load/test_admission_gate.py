"""The admission gate (app/middleware/admission.py) around a deliberately slow app: what is
shed, when, and how it says so. The real app's misses are too fast for a Python client to
overload deterministically, so the slow part here is a stand-in endpoint; the gate is the
real one."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from app.middleware.admission import OVERLOADED, AdmissionMiddleware


def _slow_app(seconds: float) -> tuple[AdmissionMiddleware, list[int]]:
    running: list[int] = [0, 0]  # now, most at once

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        running[0] += 1
        running[1] = max(running[1], running[0])
        try:
            fast = scope["path"] == "/healthz" or scope["path"].startswith(("/docs/", "/static/"))
            await asyncio.sleep(0 if fast else seconds)
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
        finally:
            running[0] -= 1

    return AdmissionMiddleware(app, max_concurrency=2, max_queue=3, deadline=2.0), running


async def _many(gate: AdmissionMiddleware, paths: list[str]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=gate)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return list(await asyncio.gather(*(client.get(p) for p in paths)))


def _assert_overloaded(response: httpx.Response, path: str) -> None:
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["type"] == OVERLOADED and body["status"] == 503 and body["instance"] == path


def test_beyond_slots_and_queue_requests_are_shed_at_once() -> None:
    gate, running = _slow_app(0.3)
    responses = asyncio.run(_many(gate, ["/positions"] * 10))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 5 + [503] * 5  # 2 running + 3 queued, the rest shed
    for response in responses:
        if response.status_code == 503:
            _assert_overloaded(response, "/positions")
    assert running[1] == 2
    assert gate.gate.in_use == 0 and gate.gate.waiting == 0


def test_a_queued_request_waits_at_most_half_the_deadline() -> None:
    gate, _ = _slow_app(1.5)  # the queue moves once every 1.5 s; a waiter gives up at 1 s
    responses = asyncio.run(_many(gate, ["/stats"] * 5))
    assert sorted(r.status_code for r in responses) == [200, 200, 503, 503, 503]
    assert gate.gate.in_use == 0 and gate.gate.waiting == 0


def test_an_admitted_request_not_answered_by_the_deadline_gets_the_503() -> None:
    gate, running = _slow_app(3.0)
    responses = asyncio.run(_many(gate, ["/countries/RS/positions"]))
    _assert_overloaded(responses[0], "/countries/RS/positions")
    assert "within 2 s" in responses[0].json()["detail"]

    assert running[1] == 1


@pytest.mark.parametrize("path", ["/healthz", "/docs/assets/swagger-ui-dist-5/x.js", "/static/a"])
def test_probes_and_static_assets_are_never_queued(path: str) -> None:
    gate, _ = _slow_app(0.5)

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=gate)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            busy = [asyncio.ensure_future(client.get("/positions")) for _ in range(5)]
            await asyncio.sleep(0.05)
            probe = await client.get(path)
            return [probe, *await asyncio.gather(*busy)]

    probe, *_ = asyncio.run(scenario())
    assert probe.status_code == 200
