"""uvicorn against Granian under `country-positions serve`, on the cached per-country route.

    .venv/bin/python -m bench.servers                  # ~55 s: 4 runs of 8 s of wrk
    .venv/bin/python -m bench.servers --duration 3 --only granian --access-log on

Each server runs one worker on a seeded SQLite file in a temporary folder, with the limits
as shipped (rate limiting off: wrk is one client address), with its access log on (the
default) and off (CP_ACCESS_LOG=false), and is loaded by Debian's wrk
(-t2 -c50) on `GET /countries/RS/positions` after a warm-up that fills the response cache.
`make bench` (bench/run.py) runs these same rows as its "granian" section.
It prints req/s, p50 and p99, a live probe of the header cap (20 KB of headers), and how
each server enforces the other limits (tests/load/test_protocol_limits.py checks those).
Figures only: nothing here passes or fails on a timing.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.harness import (
    Load,
    Result,
    Scenario,
    app_env,
    ensure_wrk,
    free_port,
    log,
    run_app,
    serve,
)

SERVERS = ("uvicorn", "granian")
PATH = "/countries/RS/positions"
# How each server enforces the limits besides the header cap (app/serving/*.py).
ENFORCES = {
    "uvicorn": "431 problem+json; 408 after CP_HEADER_TIMEOUT; idle closed after "
    "CP_KEEPALIVE_TIMEOUT; 503 over CP_MAX_CONNECTIONS",
    "granian": "431 empty body; closed (no 408) after CP_HEADER_TIMEOUT; idle closed after "
    "CP_HEADER_TIMEOUT; queued (no 503) over CP_MAX_CONNECTIONS",
}


def header_cap_status(port: int, padding: int = 20 * 1024) -> str:
    """The status line's code for a request with `padding` bytes of headers, or why none."""
    request = f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Padding: {'a' * padding}\r\n\r\n"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(request.encode())
            head = sock.recv(64)
    except OSError as exc:
        return exc.__class__.__name__
    parts = head.split(b" ", 2)
    return parts[1].decode() if len(parts) > 1 else "closed"


@dataclass
class Row:
    server: str
    access_log: bool
    result: Result
    probe: str


def measure(server: str, access_log: bool, database_url: str, load: Load, workdir: Path) -> Row:
    port = free_port()
    argv = [sys.executable, "-m", "app", "serve", "--server", server, "--port", str(port)]
    env = app_env(
        database_url, CP_RATE_LIMIT_ENABLED="false", CP_ACCESS_LOG=str(access_log).lower()
    )
    name = f"{server}-log-{'on' if access_log else 'off'}"
    with serve(name, argv, env, port=port, ready_path="/readyz", workdir=workdir) as running:
        probe = header_cap_status(port)
        result = load.measure(running, Scenario(key="country", paths=[PATH]), None)
    return Row(server, access_log, result, probe)


def table(rows: list[Row]) -> str:
    lines = [
        "| server | access log | req/s | p50 ms | p99 ms | server CPU µs/req | errors | "
        "20 KB headers | other CPU % |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for row in rows:
        r = row.result
        lines.append(
            f"| {row.server} | {'on' if row.access_log else 'off'} | {r.rps:,.0f} | "
            f"{r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.cpu_us:,.0f} | {r.errors} | {row.probe} | "
            f"{r.other_cpu_pct:.0f} |"
        )
    lines.append("")
    lines.append("| server | other limits |")
    lines.append("|---|---|")
    for server in dict.fromkeys(row.server for row in rows):
        lines.append(f"| {server} | {ENFORCES[server]} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.servers", description=__doc__)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds of wrk per server")
    parser.add_argument("--connections", type=int, default=50, help="wrk -c (default: 50)")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t (default: 2)")
    parser.add_argument("--only", choices=SERVERS, help="measure one server only")
    parser.add_argument(
        "--access-log", choices=("on", "off", "both"), default="both", help="(default: both)"
    )
    args = parser.parse_args(argv)
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="cp-bench-servers-") as tmp:
        workdir = Path(tmp)
        database_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        env = app_env(database_url)
        run_app(["migrate"], env)
        run_app(["seed"], env)
        load = Load(
            wrk=wrk,
            duration=args.duration,
            warmup=1.0,
            connections=args.connections,
            threads=args.threads,
            workdir=workdir,
            settle=0.0,
            retries=0,
        )
        logs = {"on": [True], "off": [False], "both": [True, False]}[args.access_log]
        rows = []
        for access_log in logs:
            for server in [args.only] if args.only else SERVERS:
                log(
                    f"{server} (access log {'on' if access_log else 'off'}): wrk "
                    f"-t{args.threads} -c{args.connections} -d{args.duration:g}s {PATH}"
                )
                rows.append(measure(server, access_log, database_url, load, workdir))
    print()
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
