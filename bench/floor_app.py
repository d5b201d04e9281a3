"""The floor: a bare FastAPI route answering constant bytes, the best one uvicorn worker can do.

`bench/run.py` serves it with the same uvicorn settings as `country-positions serve`
(uvloop, httptools, access log at `info`) and sets CP_BENCH_FLOOR_BYTES to the size of
the real `/countries/RS/positions` JSON response, so the only difference left is the
work the service does per request.

    CP_BENCH_FLOOR_BYTES=1700 .venv/bin/python -m uvicorn bench.floor_app:app --port 8001
"""

from __future__ import annotations

import os

from fastapi import FastAPI, Response

DEFAULT_BYTES = 1024


def constant_body(size: int) -> bytes:
    """Valid JSON of exactly `size` bytes (at least 10)."""
    frame = b'{"pad":""}'
    return frame[:-2] + b"x" * max(size - len(frame), 0) + frame[-2:]


BODY = constant_body(int(os.environ.get("CP_BENCH_FLOOR_BYTES", DEFAULT_BYTES)))

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/countries/{code}/positions")
async def country_positions(code: str) -> Response:
    return Response(content=BODY, media_type="application/json")


@app.get("/healthz")
async def healthz() -> Response:
    return Response(content=b"ok", media_type="text/plain")
