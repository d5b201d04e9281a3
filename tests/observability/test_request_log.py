"""The request lines' writer: whole lines, in order, in batches, none lost at shutdown."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from app.observability.middleware import ObservabilityMiddleware
from app.observability.request_log import ACCESS_LOGGER, Entry, RequestLog


def request(request_id: str, *, padding: int = 0) -> Entry:
    """What one request leaves for its line (`padding` makes its path longer)."""
    path = "/countries/RS/positions" + "x" * padding
    return (time.time(), request_id, "GET", "/r", path, b"", 200, 0.001, 0.0, 10, "hit", 1,
            "127.0.0.1", "1.1", None, None)  # fmt: skip


def ids(stream: io.StringIO) -> list[str]:
    """The request ids of the lines written, checking each is a whole JSON line."""
    return [json.loads(line)["request_id"] for line in stream.getvalue().splitlines()]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def wait_for(condition: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_lines_wait_for_the_interval_then_come_in_one_write() -> None:
    stream = io.StringIO()
    log = RequestLog("json", flush_interval=0.2, stream=stream)
    log.add(request("one"))
    log.add(request("two"))
    assert stream.getvalue() == ""  # buffered
    wait_for(lambda: ids(stream) == ["one", "two"])
    log.close()


def test_a_full_buffer_is_written_at_once() -> None:
    stream = io.StringIO()
    log = RequestLog("json", flush_interval=60, stream=stream, max_buffered=3)
    log.add(request("1"))
    log.add(request("2"))
    assert stream.getvalue() == ""
    log.add(request("3"))  # 3 waiting: full
    assert ids(stream) == ["1", "2", "3"]
    log.close()


def test_shutdown_writes_what_is_left_and_later_lines_at_once() -> None:
    stream = io.StringIO()
    log = RequestLog("json", flush_interval=60, stream=stream)
    log.add(request("left"))
    log.close()
    assert ids(stream) == ["left"]
    log.add(request("late"))
    assert ids(stream) == ["left", "late"]


@pytest.mark.parametrize("unbuffered", ["interval", "terminal"])
def test_unbuffered_writes_every_line_as_it_comes(unbuffered: str) -> None:
    stream = Terminal() if unbuffered == "terminal" else io.StringIO()
    log = RequestLog("json", flush_interval=60 if unbuffered == "terminal" else 0, stream=stream)
    log.add(request("now"))
    assert ids(stream) == ["now"]
    log.close()


def test_concurrent_lines_stay_whole_and_in_order() -> None:
    stream = io.StringIO()
    log = RequestLog("json", flush_interval=0.001, stream=stream, max_buffered=50)
    count = 2000

    def writer(name: str) -> None:
        for index in range(count):
            log.add(request(f"{name}-{index}", padding=index % 37))

    threads = [threading.Thread(target=writer, args=(name,)) for name in "abc"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    documents = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(documents) == 3 * count
    for name in "abc":
        mine = [d for d in documents if d["request_id"].startswith(f"{name}-")]
        assert [int(d["request_id"].split("-")[1]) for d in mine] == list(range(count))
        assert all(len(d["path"]) == 23 + int(d["request_id"].split("-")[1]) % 37 for d in mine)


def test_exit_writes_what_is_left() -> None:
    """No shutdown (no lifespan): the interpreter's exit writes the buffer."""
    code = (
        "from app.observability.request_log import RequestLog\n"
        "from tests.observability.test_request_log import request\n"
        "log = RequestLog('text', flush_interval=60)\n"
        "for i in range(3): log.add(request(f'line-{i}'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    lines = result.stderr.splitlines()
    assert [line.rsplit(" ", 1)[1] for line in lines] == ["[line-0]", "[line-1]", "[line-2]"]
    assert all(" INFO app.access 127.0.0.1 - " in line for line in lines)


@pytest.mark.parametrize("started", [False, True])
def test_a_request_that_crashes_is_still_logged(
    started: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Before its response (Starlette's error layer, outside, answers 500) or midway."""
    caplog.set_level(logging.INFO, ACCESS_LOGGER)
    stream = io.StringIO()
    log = RequestLog("json", flush_interval=60, stream=stream)

    async def crashing(scope: Scope, receive: Receive, send: Send) -> None:
        if started:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("mid-request")

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        return None

    layer = ObservabilityMiddleware(crashing, application=FastAPI(), metrics=None, request_log=log)
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/countries/RS/positions",
        "query_string": b"",
        "headers": [(b"x-request-id", b"crash-1")],
        "client": ("127.0.0.1", 1),
        "http_version": "1.1",
    }
    with pytest.raises(RuntimeError):
        asyncio.run(layer(scope, receive, send))
    log.close()
    [document] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert document["request_id"] == "crash-1"
    assert document["status"] == (200 if started else 500)  # 200: what the client was sent
    assert document["route"] == "unmatched"
