"""The floor: a bare FastAPI route answering constant bytes, the best one uvicorn worker can do.

`bench/run.py` serves it with `python -m bench.floor_app --port P`, which runs it under the
very server `country-positions serve` uses (app/serving/uvicorn_limits.py: uvloop, the
limited httptools protocol, no proxy headers, CP_* protocol limits, access log as
CP_ACCESS_LOG says), and sets CP_BENCH_FLOOR_BYTES to the size of the real
`/countries/RS/positions` JSON response, so the only difference left is the work the service
does per request. What the floor lacks is the app's middleware (cache, admission, rate
limits, host check, security headers): that is the work being measured.

    CP_BENCH_FLOOR_BYTES=1700 .venv/bin/python -m bench.floor_app --port 8001
"""

from __future__ import annotations

import argparse
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


def create_app() -> FastAPI:
    """The factory the served app is loaded from, as `serve` loads app.main's."""
    return app


def main(argv: list[str] | None = None) -> int:
    from app.serving import uvicorn_limits
    from app.serving.limits import ProtocolLimits
    from app.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m bench.floor_app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args(argv)
    settings = Settings()
    uvicorn_limits.run(
        "bench.floor_app:create_app",
        limits=ProtocolLimits.from_settings(settings),
        host=args.host,
        port=args.port,
        workers=1,
        log_level=settings.log_level,
        access_log=settings.access_log,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
