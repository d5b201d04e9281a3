"""Benchmark harness: country-positions against a floor and against Datasette, under wrk.

    .venv/bin/python -m bench.run                 # everything, ~10 min
    .venv/bin/python -m bench.run --duration 3 --only floor,sqlite
    .venv/bin/python -m bench.run --only datasette,sqlite,postgres,country-miss

It starts one server at a time, each a subprocess with one uvicorn worker on a free
loopback port, loads it with wrk, and prints req/s, p50, p99 and the server's CPU time per
request, with ratios to the floor and to Datasette measured in the same run; then a
200-client cache-busting burst per backend (bench/burst.py) and uvicorn against Granian
(bench/servers.py). It prints figures only: nothing here passes or fails on a timing.
What it shares with bench/scale.py and bench/servers.py is in bench/harness.py; the
scale benchmark is `python -m bench.scale` (make bench-scale).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bench.harness import (
    DATASETTE_VENV,
    DISTURBED,
    MISS_YEARS,
    PROBE_HEADERS,
    README,
    RESULTS,
    ROOT,
    SEEDS,
    Load,
    PostgresBackends,
    Result,
    Scenario,
    Server,
    app_env,
    app_server,
    ensure_bench_venv,
    ensure_wrk,
    free_port,
    libpq,
    log,
    lua_script,
    machine_busy_seconds,
    percentile,
    postgres_database,
    postgres_server_url,
    run_app,
    serve,
    settle,
    tree_cpu_seconds,
)

if TYPE_CHECKING:
    from bench.burst import Outcome
    from bench.observability import Row as ObservabilityRow
    from bench.servers import Row

README_START = "<!-- bench:latest:start -->"
README_END = "<!-- bench:latest:end -->"

# "granian" is the servers section (bench/servers.py): uvicorn and Granian, access log on/off.
SERVERS = (
    "floor",
    "datasette",
    "sqlite",
    "postgres",
    "sqlite-nocache",
    "postgres-nocache",
    "granian",
    "observability",
)
# "burst" is the 200-client cache-busting burst (bench/burst.py), not a wrk scenario.
SCENARIOS = ("country", "positions", "csv", "304", "country-miss", "positions-miss", "burst")
SCENARIO_LABELS = {
    "country": "GET /countries/{code}/positions",
    "positions": "GET /positions",
    "csv": "GET /positions?format=csv",
    "304": "GET /countries/{code}/positions + If-None-Match (304)",
    "country-miss": "GET /countries/{code}/positions?as_of=<distinct>",
    "positions-miss": "GET /positions?as_of=<distinct>",
}
# A fresh URL per request, so the response cache practically never has it: a random country
# and a random `as_of` (year in MISS_YEARS, month 1-12, day 1-28: 672,000 dates, so that even
# the chart's URLs, which have no country, repeat too rarely to hit the ~1,300 chart responses
# the cache can hold). Datasette has no `as_of`; its URL varies by `_nonce`, a parameter it
# ignores (an underscore argument it does not know), so neither side benefits from a cache
# the other lacks.
MISS_TEMPLATES = {
    "country-miss": "/countries/{code}/positions?as_of={as_of}",
    "positions-miss": "/positions?as_of={as_of}",
}
DATASETTE_MISS_TEMPLATE = "/cp/positions.json?code={code}&_shape=array&_nonce={as_of}"
# The references: they serve only a per-country route, and run whenever selected, so every
# ratio has its divisor. The floor answers constant bytes (it ignores the query string);
# Datasette is asked the varying URL above. Every ratio divides by their per-country figure.
REFERENCES = ("floor", "datasette")
# Servers that `--profile` runs py-spy on, for their per-country scenario.
PROFILED = ("floor", "sqlite", "sqlite-nocache")
SERVER_SCENARIOS = {
    "floor": ("country",),
    "datasette": ("country-miss",),
    "sqlite": SCENARIOS,
    "postgres": SCENARIOS,
    "sqlite-nocache": ("country", "csv"),
    "postgres-nocache": ("country", "csv"),
    "granian": ("country",),
    "observability": ("country",),
}
BURST_CLIENTS = 200
BURST_SECONDS = 8.0


def floor_server(size: int, workdir: Path) -> contextlib.AbstractContextManager[Server]:
    """The floor under the server `country-positions serve` runs (app/serving/uvicorn_limits.py:
    the limited httptools protocol, no proxy headers, the CP_* protocol limits, access log on
    unless CP_ACCESS_LOG says otherwise, as for the app servers)."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.floor_app", "--port", str(port)]
    env = {**os.environ, "CP_BENCH_FLOOR_BYTES": str(size)}
    return serve("floor", argv, env, port=port, ready_path="/healthz", workdir=workdir)


def datasette_server(
    db: Path, venv: Path, workdir: Path
) -> contextlib.AbstractContextManager[Server]:
    """`datasette serve -i`: immutable mode, Datasette's recommended mode for read-only data."""
    port = free_port()
    argv = [str(venv / "bin" / "datasette"), "serve", "-i", str(db)]
    argv += ["--host", "127.0.0.1", "--port", str(port)]
    return serve(
        "datasette",
        argv,
        dict(os.environ),
        port=port,
        ready_path="/-/versions.json",
        workdir=workdir,
    )


# --------------------------------------------------------------------------- scenarios


def probe(base: str, paths: Sequence[str]) -> tuple[list[str], float]:
    """GET each path as wrk will; return the ETags and the mean body size."""
    import httpx

    etags: list[str] = []
    sizes: list[int] = []
    with httpx.Client(base_url=base, headers=PROBE_HEADERS, timeout=30) as client:
        for path in paths:
            response = client.get(path)
            response.raise_for_status()
            sizes.append(len(response.content))
            etags.append(response.headers.get("etag", ""))
    return etags, statistics.fmean(sizes)


def check_not_modified(base: str, paths: Sequence[str], etags: Sequence[str]) -> None:
    import httpx

    with httpx.Client(base_url=base, headers=PROBE_HEADERS, timeout=30) as client:
        statuses = Counter(
            client.get(p, headers={"If-None-Match": e}).status_code
            for p, e in zip(paths, etags, strict=True)
        )
    if set(statuses) != {304}:
        raise RuntimeError(f"conditional GETs were not all answered 304: {dict(statuses)}")


def miss_samples(template: str, codes: Sequence[str], count: int = 20) -> list[str]:
    """`count` URLs from `template` as wrk builds them (random code, random date)."""
    import random

    rng = random.Random(len(template))
    return [
        template.format(
            code=rng.choice(codes),
            as_of=f"{rng.randint(*MISS_YEARS):04d}-{rng.randint(1, 12):02d}-"
            f"{rng.randint(1, 28):02d}",
        )
        for _ in range(count)
    ]


def build_scenarios(
    base: str,
    keys: Sequence[str],
    country_path: str,
    codes: Sequence[str],
    miss_templates: dict[str, str] | None = None,
) -> list[Scenario]:
    """The scenarios `keys` against `base`, with response sizes (and ETags) probed first; for
    the cache-missing ones, sizes are the mean of a few sample URLs."""
    per_country = [country_path.format(code=code) for code in codes]
    templates = MISS_TEMPLATES if miss_templates is None else miss_templates
    out: list[Scenario] = []
    for key in keys:
        if key in templates:
            samples = miss_samples(templates[key], codes)
            _, size = probe(base, samples)
            out.append(Scenario(key, samples, None, size, templates[key], list(codes)))
            continue
        paths = {
            "country": per_country,
            "304": per_country,
            "positions": ["/positions"],
            "csv": ["/positions?format=csv"],
        }[key]
        etags, size = probe(base, paths)
        scenario = Scenario(key, paths, body_bytes=size)
        if key == "304":
            if not all(etags):
                raise RuntimeError(f"{base} sent no ETag for some of {paths}")
            check_not_modified(base, paths, etags)
            scenario.etags = etags
            scenario.body_bytes = 0
        out.append(scenario)
    return out


# --------------------------------------------------------------------------- Datasette data


def export_for_datasette(base: str, target: Path) -> int:
    """One row per country and category, from the API's own /positions (what it serves)."""
    import httpx

    items = httpx.get(f"{base}/positions?limit=500", headers=PROBE_HEADERS, timeout=30).json()[
        "items"
    ]
    target.unlink(missing_ok=True)
    db = sqlite3.connect(target)
    with db:
        db.execute(
            "CREATE TABLE positions (code TEXT, alpha3 TEXT, name TEXT, category TEXT, "
            "value TEXT, disputed INTEGER, as_of TEXT, source_ids TEXT, reported_via TEXT, "
            "evidence TEXT, PRIMARY KEY (code, category))"
        )
        rows = [
            (
                item["country"]["code"],
                item["country"]["alpha3"],
                item["country"]["name"],
                p["category"],
                p["value"],
                int(p["disputed"]),
                p["as_of"],
                ", ".join(p["source_ids"]),
                ", ".join(sorted({a["reported_via_id"] or "" for a in p["assessments"]} - {""})),
                " | ".join(a["evidence"] for a in p["assessments"]),
            )
            for item in items
            for p in item["positions"]
        ]
        db.executemany("INSERT INTO positions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.close()
    return len(rows)


# --------------------------------------------------------------------------- cold cache


@dataclass
class Cold:
    backend: str
    cold_ms: list[float] = field(default_factory=list)
    warm_ms: list[float] = field(default_factory=list)
    per_country: dict[str, list[float]] = field(default_factory=dict)


def measure_cold(
    server: Server, database_url: str, codes: Sequence[str], rounds: int, workdir: Path
) -> Cold:
    """Bump the revision with the seed loader on an edited copy of seeds/, then time the first
    request per country (a cache miss: the revision switch emptied the cache) and a second."""
    import httpx

    result = Cold(server.name)
    copy = workdir / f"seeds-{server.name}"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(SEEDS, copy)
    assessments = copy / "assessments.csv"
    original = assessments.read_text(encoding="utf-8")
    env = app_env(database_url)
    with httpx.Client(base_url=server.base, headers=PROBE_HEADERS, timeout=30) as client:
        for round_ in range(1, rounds + 1):
            rows = list(csv.reader(io.StringIO(original, newline="")))
            header = rows[0]
            rows[1][header.index("evidence")] += f" [bench edit {os.getpid()}-{round_}]"
            buffer = io.StringIO(newline="")
            csv.writer(buffer, lineterminator="\n").writerows(rows)
            assessments.write_text(buffer.getvalue(), encoding="utf-8")
            # A URL cached at the old revision: its ETag changes once the server has switched.
            before = client.get("/categories").headers["etag"]
            output = run_app(["seed", str(copy)], env)
            revision = output.strip().splitlines()[-1].rsplit(" ", 1)[-1]
            deadline = time.monotonic() + 10
            while not client.get("/categories").headers["etag"].startswith(f'W/"r{revision}-'):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{server.name} never saw revision {revision} ({before})")
                time.sleep(0.005)
            for code in codes:
                path = f"/countries/{code}/positions"
                start = time.perf_counter()
                client.get(path).raise_for_status()
                cold = (time.perf_counter() - start) * 1000
                start = time.perf_counter()
                client.get(path).raise_for_status()
                warm = (time.perf_counter() - start) * 1000
                result.cold_ms.append(cold)
                result.warm_ms.append(warm)
                result.per_country.setdefault(code, []).append(cold)
    assessments.write_text(original, encoding="utf-8")
    return result


# --------------------------------------------------------------------------- burst


@dataclass
class BurstRow:
    """One burst (bench/burst.py) against one server, with the CPU it and its client used."""

    server: str
    clients: int
    outcome: Outcome
    wall_s: float  # the burst, its warm-up request and the recovery probe
    server_cpu_s: float
    client_cpu_s: float
    machine_busy_s: float

    @property
    def server_cpu_pct(self) -> float:
        return self.server_cpu_s / self.wall_s * 100 if self.wall_s else 0.0

    @property
    def client_cpu_pct(self) -> float:
        return self.client_cpu_s / self.wall_s * 100 if self.wall_s else 0.0

    @property
    def other_cpu_pct(self) -> float:
        """The rest of the machine (the database included), in % of one core."""
        ours = self.server_cpu_s + self.client_cpu_s
        return max(self.machine_busy_s - ours, 0.0) / self.wall_s * 100 if self.wall_s else 0.0


def _own_cpu_seconds() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has exited
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure_burst(
    server: Server, codes: Sequence[str], clients: int, seconds: float, settle_limit: float
) -> BurstRow:
    """`clients` wrk connections, each looping over fresh per-country URLs (bench/burst.py's
    wrk_burst; a Python client would measure itself), and a probe thread in this process."""
    from bench.burst import wrk_burst

    if settle_limit > 0:
        settle(settle_limit)
    busy_before = machine_busy_seconds()
    client_before = _own_cpu_seconds()
    server_before = tree_cpu_seconds(server.pid)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cp-burst-") as tmp:
        outcome = wrk_burst(
            server.base,
            wrk=ensure_wrk(),
            clients=clients,
            seconds=seconds,
            workdir=Path(tmp),
            codes=codes,
        )
    wall = time.monotonic() - started
    return BurstRow(
        server=server.name,
        clients=clients,
        outcome=outcome,
        wall_s=wall,
        server_cpu_s=tree_cpu_seconds(server.pid) - server_before,
        client_cpu_s=_own_cpu_seconds() - client_before,
        machine_busy_s=machine_busy_seconds() - busy_before,
    )


# --------------------------------------------------------------------------- servers


def measure_servers(database_url: str, load: Load, workdir: Path) -> list[Row]:
    """bench/servers.py's rows: uvicorn and Granian under `serve`, access log on and off."""
    from bench import servers

    rows: list[Row] = []
    for access_log in (True, False):
        for name in servers.SERVERS:
            log(
                f"{name} (access log {'on' if access_log else 'off'}): "
                f"GET {servers.PATH} ({load.duration:g} s)"
            )
            row = servers.measure(name, access_log, database_url, load, workdir)
            r = row.result
            log(
                f"  {r.rps:,.0f} req/s, p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms, "
                f"{r.cpu_us:,.0f} µs CPU/req; 20 KB of headers: {row.probe}"
            )
            rows.append(row)
    return rows


# --------------------------------------------------------------------------- profile


def profile(
    load: Load, server: Server, scenario: Scenario, venv: Path, seconds: float, top: int = 15
) -> str:
    """py-spy on the server during one more wrk run (not one of the measured ones)."""
    pyspy = venv / "bin" / "py-spy"
    raw = load.workdir / f"profile-{server.name}-{scenario.key}.txt"
    script = load.workdir / f"{server.name}-{scenario.key}.lua"
    script.write_text(lua_script(scenario))
    spy = subprocess.Popen(
        [
            *(str(pyspy), "record", "--pid", str(server.pid), "--duration", f"{seconds:.0f}"),
            *("--rate", "250", "--gil", "--format", "raw", "--output", str(raw), "--nonblocking"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(0.5)
    load.run(server.base, script, seconds)
    _, err = spy.communicate(timeout=seconds + 60)
    if spy.returncode != 0 or not raw.exists():
        return f"py-spy failed ({spy.returncode}): {err.decode(errors='replace').strip()}"
    return summarise_profile(raw.read_text(), top)


def _frame_name(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"; drop line numbers.
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where})"


BOILERPLATE = (
    "<frozen runpy>",
    "app/__main__.py",
    "app/cli.py",
    "uvicorn/main.py",
    "uvicorn/_compat.py",
    "uvicorn/server.py",
    "asyncio/runners.py",
    "threading.py",
)


def summarise_profile(raw: str, top: int) -> str:
    """Own and inclusive shares of the samples, by function; start-up frames left out of the
    inclusive list (they are on every stack of the event-loop thread)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";") if not f.startswith("process ")]
        frames = [f for f in frames if not f.startswith("thread (")]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            if not any(marker in frame for marker in BOILERPLATE):
                inclusive[frame] += count
    if not total:
        return "no samples"
    lines = [f"{total} samples of the thread holding the GIL"]
    lines.append(f"top {top} by own time (the frame itself was running):")
    lines += [f"  {n / total:6.1%}  {f}" for f, n in own.most_common(top)]
    lines.append(f"top {top} by inclusive time (the frame was on the stack):")
    lines += [f"  {n / total:6.1%}  {f}" for f, n in inclusive.most_common(top)]
    return "\n".join(lines)


# --------------------------------------------------------------------------- report


def _fmt(value: float | None, digits: int = 0) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:,.{digits}f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:.2f}x"


def _db_cell(r: Result) -> str:
    """DB CPU µs/req; with "≥" and the sessions opened when backends came and went."""
    if r.db_cpu_us is None:
        return "-"
    if r.db_sessions:
        return f"≥ {_fmt(r.db_cpu_us)} ({r.db_sessions:,} sessions opened)"
    return _fmt(r.db_cpu_us)


def results_table(results: Sequence[Result]) -> str:
    by = {(r.server, r.scenario): r for r in results}
    floor = by.get(("floor", "country"))
    datasette = by.get(("datasette", "country-miss"))
    header = (
        "| server | scenario | req/s | p50 ms | p99 ms | server CPU µs/req | DB CPU µs/req | "
        "server CPU % | body bytes | statuses | req/s ÷ floor | CPU ÷ floor | "
        "req/s ÷ Datasette | errors | other CPU % |"
    )
    lines = [header, "|" + "---|" * 15]
    for r in results:
        lines.append(
            f"| {r.server} | {SCENARIO_LABELS[r.scenario]} | {_fmt(r.rps)} | "
            f"{_fmt(r.p50_ms, 2)} | {_fmt(r.p99_ms, 2)} | {_fmt(r.cpu_us)} | "
            f"{_db_cell(r)} | {_fmt(r.server_cpu_pct)} | {_fmt(r.body_bytes)} | "
            f"{r.status_text} | "
            f"{_ratio(r.rps / floor.rps if floor else None)} | "
            f"{_ratio(r.cpu_us / floor.cpu_us if floor and floor.cpu_us else None)} | "
            f"{_ratio(r.rps / datasette.rps if datasette else None)} | {r.errors} | "
            f"{_fmt(r.other_cpu_pct)} |"
        )
    return "\n".join(lines)


def targets_table(results: Sequence[Result], bursts: Sequence[BurstRow] = ()) -> str:
    by = {(r.server, r.scenario): r for r in results}
    floor = by.get(("floor", "country"))
    datasette = by.get(("datasette", "country-miss"))
    lines = ["| target | server | measured | met |", "|---|---|---|---|"]

    def row(target: str, server: str, measured: float | None, fmt: str, ok: bool | None) -> None:
        shown = "-" if measured is None else fmt.format(measured)
        verdict = "-" if ok is None else ("yes" if ok else "no")
        lines.append(f"| {target} | {server} | {shown} | {verdict} |")

    for server in ("sqlite", "postgres"):
        country = by.get((server, "country"))
        if country is not None:
            if floor:
                ratio = country.rps / floor.rps
                row("per-country req/s ≥ 0.9x floor", server, ratio, "{:.2f}x", ratio >= 0.9)
                row("stretch: ≥ 2x floor", server, ratio, "{:.2f}x", ratio >= 2)
            if datasette:
                ratio = country.rps / datasette.rps
                row("per-country req/s ≥ 10x Datasette", server, ratio, "{:.2f}x", ratio >= 10)
            p99 = country.p99_ms
            row("per-country p99 ≤ 20 ms", server, p99, "{:.2f} ms", p99 <= 20)
            csv_result = by.get((server, "csv"))
            if csv_result:
                ratio = csv_result.cpu_us / country.cpu_us
                row("CSV CPU/req ≤ 2x per-country JSON", server, ratio, "{:.2f}x", ratio <= 2)
        miss = by.get((server, "country-miss"))
        if miss is not None and datasette:
            ratio = miss.rps / datasette.rps
            row("uncached per-country req/s ≥ 3x Datasette", server, ratio, "{:.2f}x", ratio >= 3)
        chart_miss = by.get((server, "positions-miss"))
        if miss is not None and chart_miss is not None and miss.cpu_us:
            ratio = chart_miss.cpu_us / miss.cpu_us
            target = "uncached chart CPU/req ≤ 3x uncached per-country"
            row(target, server, ratio, "{:.2f}x", ratio <= 3)
        for b in bursts:
            if b.server != server:
                continue
            o = b.outcome
            label = f"{b.clients}-client burst:"
            row(
                f"{label} every request answered",
                server,
                o.answered_pct,
                "{:.2f} %",
                o.answered_pct == 100,
            )
            stray = sum(n for status, n in o.statuses.items() if status not in (200, 429, 503))
            row(
                f"{label} only 200, 429, 503 (with Retry-After)",
                server,
                stray + o.missing_retry_after,
                "{:.0f} others",
                not stray and not o.missing_retry_after,
            )
            worst = o.probe_worst_ms.get("/healthz")
            row(
                f"{label} /healthz within 1 s",
                server,
                worst,
                "{:.0f} ms",
                None if worst is None else worst <= 1000,
            )
            recovery = o.recovery_s
            row(
                f"{label} normal again within 2 s",
                server,
                recovery,
                "{:.2f} s",
                recovery is not None and recovery <= 2,
            )
    return "\n".join(lines)


def burst_table(bursts: Sequence[BurstRow]) -> str:
    lines = [
        "| server | clients | requests | answered/s | answered % | 200 % | 503 % | 429 % | "
        "other | p50 ms | p99 ms | max ms | worst /healthz ms | worst cached URL ms | "
        "recovery s | server CPU % | client CPU % | other CPU % |",
        "|" + "---|" * 18,
    ]
    for b in bursts:
        o = b.outcome
        answered = sum(o.statuses.values())
        others = [f"{s}:{n}" for s, n in sorted(o.statuses.items()) if s not in (200, 429, 503)]
        others += [f"{e}:{n}" for e, n in o.errors.most_common()]
        if o.missing_retry_after:
            others.append(f"no Retry-After:{o.missing_retry_after}")
        cached = next((v for k, v in o.probe_worst_ms.items() if k != "/healthz"), None)
        lines.append(
            f"| {b.server} | {b.clients} | {o.sent:,} | "
            f"{_fmt(answered / o.seconds if o.seconds else None)} | {o.answered_pct:.2f} | "
            f"{o.pct(200):.1f} | {o.pct(503):.1f} | {o.pct(429):.1f} | "
            f"{' '.join(others) or '-'} | {_fmt(o.percentile(50), 1)} | "
            f"{_fmt(o.percentile(99), 1)} | {_fmt(max(o.latencies_ms, default=0.0), 1)} | "
            f"{_fmt(o.probe_worst_ms.get('/healthz'), 1)} | {_fmt(cached, 1)} | "
            f"{'never' if o.recovery_s is None else f'{o.recovery_s:.2f}'} | "
            f"{_fmt(b.server_cpu_pct)} | {_fmt(b.client_cpu_pct)} | {_fmt(b.other_cpu_pct)} |"
        )
    return "\n".join(lines)


def cold_table(colds: Sequence[Cold]) -> str:
    lines = [
        "| backend | requests | cold p50 ms | cold p90 ms | cold max ms | "
        "cold min ms | then warm p50 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in colds:
        lines.append(
            f"| {c.backend} | {len(c.cold_ms)} | {_fmt(statistics.median(c.cold_ms), 2)} | "
            f"{_fmt(percentile(c.cold_ms, 90), 2)} | {_fmt(max(c.cold_ms), 2)} | "
            f"{_fmt(min(c.cold_ms), 2)} | {_fmt(statistics.median(c.warm_ms), 2)} |"
        )
    return "\n".join(lines)


def cold_detail(colds: Sequence[Cold]) -> str:
    lines: list[str] = []
    for c in colds:
        lines.append(f"{c.backend}, first request after a write, ms per round, by country:")
        for code, values in c.per_country.items():
            lines.append(f"  {code}: " + " ".join(f"{v:.2f}" for v in values))
    return "\n".join(lines)


def environment() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    first = (wrk_version.stdout or wrk_version.stderr).splitlines()
    return (
        f"{os.cpu_count()} cores ({cpu}), Linux {platform.release()}, "
        f"Python {platform.python_version()}, {first[0] if first else 'wrk'}"
    )


def update_readme(text: str) -> None:
    current = README.read_text(encoding="utf-8")
    start, end = current.index(README_START), current.index(README_END)
    README.write_text(
        current[: start + len(README_START)] + "\n" + text + "\n" + current[end:], encoding="utf-8"
    )


# --------------------------------------------------------------------------- main


def parse_only(only: str | None) -> tuple[list[str], list[str]]:
    if not only:
        return list(SERVERS), list(SCENARIOS)
    tokens = [t.strip() for t in only.split(",") if t.strip()]
    unknown = [t for t in tokens if t not in SERVERS and t not in SCENARIOS]
    if unknown:
        raise SystemExit(
            f"--only: unknown {', '.join(unknown)}; servers: {', '.join(SERVERS)}; "
            f"scenarios: {', '.join(SCENARIOS)}"
        )
    servers = [s for s in SERVERS if s in tokens] or list(SERVERS)
    scenarios = [s for s in SCENARIOS if s in tokens] or list(SCENARIOS)
    return servers, scenarios


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Load country-positions (SQLite and PostgreSQL), a floor app and Datasette "
        "with wrk, one server at a time, on cached and cache-missing URLs; print req/s, p50, "
        "p99, CPU per request and ratios; then a cache-busting burst per backend and uvicorn "
        "against Granian. Figures only: nothing fails on a timing.",
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds per run (default: 10)")
    parser.add_argument("--warmup", type=float, default=1, help="seconds of warm-up (default: 1)")
    parser.add_argument("--connections", type=int, default=50, help="wrk -c (default: 50)")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t (default: 2)")
    parser.add_argument(
        "--only",
        help="comma-separated servers and/or scenarios to run; servers: "
        f"{', '.join(SERVERS)} (granian: the uvicorn vs Granian section); scenarios: "
        f"{', '.join(SCENARIOS)} (burst: the cache-busting burst); the floor and Datasette "
        "run their one scenario whenever they are selected (default: all)",
    )
    parser.add_argument(
        "--burst-clients",
        type=int,
        default=BURST_CLIENTS,
        help=f"concurrent clients of the burst (default: {BURST_CLIENTS})",
    )
    parser.add_argument(
        "--burst-seconds",
        type=float,
        default=BURST_SECONDS,
        help=f"seconds the burst's clients keep sending (default: {BURST_SECONDS:g})",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=60,
        help="before each measurement, wait up to this many seconds for other work on the "
        "machine to stop (0: never wait; default: 60)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=2,
        help=f"measure again when other work took over {DISTURBED:g}%% of a core during a run; "
        "the least disturbed run is kept (default: 2)",
    )
    parser.add_argument(
        "--cold-rounds",
        type=int,
        default=3,
        help="writes (seed runs) for the first-request-after-a-write figures; 0 skips (default: 3)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also run py-spy on the floor and the sqlite servers during an extra per-country "
        "wrk run (not a measured one)",
    )
    parser.add_argument(
        "--readme",
        choices=("auto", "yes", "no"),
        default="auto",
        help="update bench/README.md with this run's tables: auto = only for a full run of "
        "at least 10 s per measurement (default: auto)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(raw)
    servers, scenarios = parse_only(args.only)
    command = "python -m bench.run" + ("" if not raw else " " + " ".join(raw))
    started = datetime.now(UTC)
    wrk = ensure_wrk()
    venv = ensure_bench_venv() if "datasette" in servers or args.profile else DATASETTE_VENV
    results: list[Result] = []
    colds: list[Cold] = []
    bursts: list[BurstRow] = []
    server_rows: list[Row] = []
    observability_rows: list[ObservabilityRow] = []
    profiles: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="cp-bench-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        load = Load(
            wrk,
            args.duration,
            args.warmup,
            args.connections,
            args.threads,
            workdir,
            args.settle,
            args.retries,
        )
        sqlite_url = f"sqlite:///{workdir / 'country-positions.sqlite3'}"
        log(f"migrating and seeding a fresh SQLite database under {workdir}")
        run_app(["migrate"], app_env(sqlite_url))
        run_app(["seed"], app_env(sqlite_url))
        with app_server("discovery", sqlite_url, workdir) as discovery:
            import httpx

            countries = httpx.get(
                f"{discovery.base}/countries?limit=500", headers=PROBE_HEADERS
            ).json()["items"]
            codes = [c["code"] for c in countries]
            rs = httpx.get(f"{discovery.base}/countries/RS/positions", headers=PROBE_HEADERS)
            rs_bytes = len(rs.content)
            datasette_db = workdir / "cp.db"
            rows = export_for_datasette(discovery.base, datasette_db)
        log(
            f"{len(codes)} countries; /countries/RS/positions is {rs_bytes} bytes; "
            f"{rows} rows exported for Datasette"
        )
        postgres_url: str | None = None
        pg_name = f"cp_bench_{os.getpid()}"
        if {"postgres", "postgres-nocache"} & set(servers):
            postgres_url = stack.enter_context(postgres_database(pg_name))
            run_app(["migrate"], app_env(postgres_url))
            run_app(["seed"], app_env(postgres_url))

        for name in servers:
            keys = [k for k in SERVER_SCENARIOS[name] if k in scenarios or name in REFERENCES]
            if not keys:
                continue
            if name == "granian":
                server_rows = measure_servers(sqlite_url, load, workdir)
                continue
            if name == "observability":
                from bench import observability

                log("observability off / text / on, interleaved: GET /countries/RS/positions")
                observability_rows = observability.measure(sqlite_url, load, workdir, rounds=3)
                continue
            backends: PostgresBackends | None = None
            miss_templates: dict[str, str] | None = None
            if name == "floor":
                context = floor_server(rs_bytes, workdir)
                country_path = "/countries/{code}/positions"
            elif name == "datasette":
                context = datasette_server(datasette_db, venv, workdir)
                country_path = "/cp/positions.json?code={code}&_shape=array"
                miss_templates = {"country-miss": DATASETTE_MISS_TEMPLATE}
            elif name.startswith("sqlite"):
                context = app_server(name, sqlite_url, workdir, cache=name == "sqlite")
                country_path = "/countries/{code}/positions"
            else:
                assert postgres_url is not None
                context = app_server(
                    name, postgres_url, workdir, cache=name == "postgres", database=pg_name
                )
                backends = PostgresBackends(libpq(postgres_server_url()), pg_name)
                country_path = "/countries/{code}/positions"
            wrk_keys = [k for k in keys if k != "burst"]
            with context as server:
                scenario_list = build_scenarios(
                    server.base, wrk_keys, country_path, codes, miss_templates
                )
                for scenario in scenario_list:
                    log(f"{name}: {SCENARIO_LABELS[scenario.key]} ({args.duration:g} s)")
                    result = load.measure(server, scenario, backends)
                    results.append(result)
                    log(
                        f"  {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
                        f"p99 {result.p99_ms:.2f} ms, {result.cpu_us:,.0f} µs CPU/req, "
                        f"{result.errors} errors"
                    )
                    if args.profile and name in PROFILED and scenario.key == "country":
                        log(f"  profiling {name} with py-spy during one more run")
                        profiles[f"{name} {SCENARIO_LABELS[scenario.key]}"] = profile(
                            load, server, scenario, venv, max(args.duration, 5)
                        )
                if name in ("sqlite", "postgres") and args.cold_rounds > 0:
                    url = sqlite_url if name == "sqlite" else postgres_url
                    assert url is not None
                    log(f"{name}: first request per country after a write x{args.cold_rounds}")
                    colds.append(measure_cold(server, url, codes, args.cold_rounds, workdir))
                if "burst" in keys:
                    log(
                        f"{name}: {args.burst_clients}-client cache-busting burst "
                        f"({args.burst_seconds:g} s)"
                    )
                    b = measure_burst(
                        server, codes, args.burst_clients, args.burst_seconds, args.settle
                    )
                    bursts.append(b)
                    o = b.outcome
                    log(
                        f"  {o.sent:,} sent, {o.answered_pct:.1f}% answered, 200 {o.pct(200):.1f}%,"
                        f" 503 {o.pct(503):.1f}%, p99 {o.percentile(99):.0f} ms, /healthz worst "
                        f"{o.probe_worst_ms.get('/healthz', float('nan')):.0f} ms, recovery "
                        f"{o.recovery_s if o.recovery_s is not None else float('nan'):.2f} s"
                    )

    report = render(
        args,
        command,
        started,
        codes,
        rs_bytes,
        results,
        colds,
        profiles,
        bursts,
        server_rows,
        observability_rows,
    )
    print()
    print(report)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}.md"
    detail = cold_detail(colds)
    path.write_text(report + ("\n\n```\n" + detail + "\n```\n" if detail else ""), encoding="utf-8")
    log(f"wrote {path.relative_to(ROOT)}")
    full = args.only is None and args.duration >= 10
    if args.readme == "yes" or (args.readme == "auto" and full):
        update_readme(report)
        log(f"updated {README.relative_to(ROOT)}")
    else:
        log("bench/README.md left as it is (partial or short run; --readme yes forces it)")
    return 0


def render(
    args: argparse.Namespace,
    command: str,
    started: datetime,
    codes: Sequence[str],
    rs_bytes: int,
    results: Sequence[Result],
    colds: Sequence[Cold],
    profiles: dict[str, str],
    bursts: Sequence[BurstRow] = (),
    server_rows: Sequence[Row] = (),
    observability_rows: Sequence[ObservabilityRow] = (),
) -> str:
    parts = [
        f"Run {started.strftime('%Y-%m-%d %H:%M UTC')} with `.venv/bin/{command}` on "
        f"{environment()}.",
        "",
        f"wrk -t{args.threads} -c{args.connections}, {args.duration:g} s per row after "
        f"{args.warmup:g} s of warm-up, rotating over the {len(codes)} country codes; one "
        "uvicorn worker per server, rate limiting off (CP_RATE_LIMIT_ENABLED=false), access "
        f"log on. Floor body: {rs_bytes} bytes (the size of `/countries/RS/positions`). "
        "`<distinct>` rows build a fresh URL per request (a random country and a random "
        f"`as_of` in the years {MISS_YEARS[0]}-{MISS_YEARS[1]}), so the response cache "
        "practically never has it; Datasette is asked "
        "`/cp/positions.json?code=<random>&_shape=array&_nonce=<random date>` (it has no "
        "`as_of`; `_nonce` is ignored). The floor and Datasette serve only the per-country "
        "route; every ratio divides by their per-country figure.",
        "",
        results_table(results),
    ]
    if any(r.server in ("sqlite", "postgres") for r in results) or bursts:
        parts += ["", "Targets:", "", targets_table(results, bursts)]
    if colds:
        parts += [
            "",
            "First request per country after a write (the seed loader run on an edited copy of "
            "seeds/ bumps the revision; one httpx request per country, then a second one):",
            "",
            cold_table(colds),
        ]
    if bursts:
        parts += [
            "",
            f"Cache-busting burst (bench/burst.py, wrk_burst): {bursts[0].clients} wrk "
            f"connections, each looping over fresh per-country URLs for "
            f"{args.burst_seconds:g} s (30 s timeout); a probe thread asks `/healthz` and "
            "a cached URL every 100 ms; recovery is the time until a fresh miss gets a 200 "
            "after the burst. Client CPU is wrk's and the probe's.",
            "",
            burst_table(bursts),
        ]
    if server_rows:
        from bench.servers import table

        parts += [
            "",
            "uvicorn against Granian (bench/servers.py): `serve --server S` on the seeded SQLite "
            "file, cached `GET /countries/RS/positions`, wrk as above, access log on and off "
            '(CP_ACCESS_LOG); "20 KB headers" is the status a request with 20 KB of headers '
            "gets (the cap is CP_MAX_HEADER_BYTES, 16 KB).",
            "",
            table(list(server_rows)),
        ]
    if observability_rows:
        from bench.observability import table as observability_table

        parts += [
            "",
            "Observability (bench/observability.py): three `serve` processes side by side on the "
            "seeded SQLite file, measured in turn, three rounds (interleaved, so a busy machine "
            "disturbs all alike), cached `GET /countries/RS/positions`, wrk as above: off (no "
            "request line, no metrics), text (a text request line, as uvicorn's access log "
            "was), on (JSON request line and Prometheus metrics; tracing off).",
            "",
            observability_table(list(observability_rows)),
        ]
    for title, text in profiles.items():
        parts += ["", f"py-spy, {title}:", "", "```", text, "```"]
    return "\n".join(parts)


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
