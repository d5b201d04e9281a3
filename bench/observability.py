"""What observability costs a cached read: `serve` with it on and off, interleaved.

    .venv/bin/python -m bench.observability                 # ~2 min: 3 variants x 3 rounds of 8 s
    .venv/bin/python -m bench.observability --rounds 2 --duration 5

The variants run side by side (one worker each, on one seeded SQLite file, rate limiting
off: wrk is one client address) and are measured in turn, round after round (off, text,
on, off, text, on, ...), so a busy machine disturbs them alike; each gets the median of
its rounds. `GET /countries/RS/positions`, a response-cache hit after the warm-up:

- **off**: CP_ACCESS_LOG=false, CP_METRICS_ENABLED=false: no request line, no metrics
  (the request id and Server-Timing headers cannot be turned off: they are in every row);
- **text**: a text request line (what `serve` wrote before, as uvicorn's access log),
  no metrics;
- **on**: everything this app observes: a JSON request line (CP_LOG_FORMAT=json) and the
  metrics (CP_METRICS_ENABLED=true), tracing off.

`make bench` (bench/run.py) runs it as its "observability" section. Figures only.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
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

PATH = "/countries/RS/positions"
VARIANTS: dict[str, dict[str, str]] = {
    "off": {"CP_ACCESS_LOG": "false", "CP_METRICS_ENABLED": "false"},
    "text": {"CP_ACCESS_LOG": "true", "CP_LOG_FORMAT": "text", "CP_METRICS_ENABLED": "false"},
    "on": {"CP_ACCESS_LOG": "true", "CP_LOG_FORMAT": "json", "CP_METRICS_ENABLED": "true"},
}
DESCRIPTIONS = {
    "off": "no request line, no metrics",
    "text": "text request line, no metrics",
    "on": "JSON request line + metrics",
}


@dataclass
class Row:
    variant: str
    results: list[Result] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return statistics.median(r.rps for r in self.results)

    @property
    def cpu_us(self) -> float:
        return statistics.median(r.cpu_us for r in self.results)

    @property
    def p99_ms(self) -> float:
        return statistics.median(r.p99_ms for r in self.results)


def measure(database_url: str, load: Load, workdir: Path, rounds: int) -> list[Row]:
    rows = {name: Row(name) for name in VARIANTS}
    with contextlib.ExitStack() as stack:
        servers = {}
        for name, extra in VARIANTS.items():
            port = free_port()
            argv = [sys.executable, "-m", "app", "serve", "--port", str(port)]
            env = app_env(database_url, CP_RATE_LIMIT_ENABLED="false", **extra)
            servers[name] = stack.enter_context(
                serve(f"obs-{name}", argv, env, port=port, ready_path="/readyz", workdir=workdir)
            )
        for round_ in range(rounds):
            for name, server in servers.items():
                result = load.measure(server, Scenario(key="country", paths=[PATH]), None)
                log(
                    f"  round {round_ + 1} {name}: {result.rps:,.0f} req/s, "
                    f"{result.cpu_us:,.0f} µs CPU/req, other CPU {result.other_cpu_pct:.0f} %"
                )
                rows[name].results.append(result)
    return list(rows.values())


def table(rows: list[Row]) -> str:
    by_name = {row.variant: row for row in rows}
    lines = [
        "| observability | what | req/s (median) | ÷ off | ÷ text | p99 ms | server CPU µs/req | "
        "req/s of each round | other CPU % (max) |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for row in rows:
        off, text = by_name["off"].rps, by_name["text"].rps
        rounds = " / ".join(f"{r.rps:,.0f}" for r in row.results)
        lines.append(
            f"| {row.variant} | {DESCRIPTIONS[row.variant]} | {row.rps:,.0f} | "
            f"{row.rps / off:.2f}x | {row.rps / text:.2f}x | {row.p99_ms:.2f} | "
            f"{row.cpu_us:,.0f} | {rounds} | {max(r.other_cpu_pct for r in row.results):.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.observability", description=__doc__)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds of wrk per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per variant (default: 3)")
    args = parser.parse_args(argv)
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="cp-bench-obs-") as tmp:
        workdir = Path(tmp)
        database_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        env = app_env(database_url)
        run_app(["migrate"], env)
        run_app(["seed"], env)
        load = Load(
            wrk=wrk,
            duration=args.duration,
            warmup=1.0,
            connections=50,
            threads=2,
            workdir=workdir,
            settle=0.0,
            retries=0,
        )
        rows = measure(database_url, load, workdir, args.rounds)
    print()
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
