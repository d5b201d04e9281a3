"""Scale benchmark: the seed loader and the per-country query at growing catalogue sizes.

    .venv/bin/python -m bench.scale                      # 1k, 100k and 1M assessments
    .venv/bin/python -m bench.scale --sizes 1000,100000

For each size it writes a synthetic catalogue (bench/generate.py), then for each backend
loads it into a fresh database with `python -m app seed --bulk DIR` (`--loader seed`: the
regular loader), printing the wall time,
rows/s and the loader's peak RSS. A load that runs past --load-timeout or --max-rss is
stopped (its stack is dumped with py-spy first, to show where it was) and reported as
capped; the assessments are then inserted directly (COPY / executemany, *not* the app's
loader) so the query can still be measured at that size. Then three fresh servers in turn
answer the first request for each country (a cold cache): median and p90 per size, with the
ratio to the smallest size, and PostgreSQL's EXPLAIN (ANALYZE, BUFFERS) of the positions
queries (the SQL `_latest_assessments` in app/assessments/service.py sends).

Exports (issue 10: one CSV export of a 150k-assessment country once took 570 MB RSS): for
each backend, a catalogue of `--export-country-rows` assessments (default 1M) all on one
country is loaded with `seed --bulk`; a fresh server then answers its CSV export once, four
at once, and four NDJSON exports at once, while its RSS is sampled every 20 ms (VmHWM
reset first): the growth over the idle server's RSS, the time to the first body byte and
the rows/s are printed. `--only exports` runs just that part, e.g. at a modest size:

    .venv/bin/python -m bench.scale --only exports --export-country-rows 200000

Figures only: nothing passes or fails on a timing.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/scale.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import generate
from bench.harness import (
    DATASETTE_VENV,
    PROBE_HEADERS,
    README,
    RESULTS,
    ROOT,
    app_env,
    app_server,
    ensure_bench_venv,
    libpq,
    log,
    percentile,
    postgres_database,
    postgres_server_url,
    run_app,
)

README_START = "<!-- bench:scale:start -->"
README_END = "<!-- bench:scale:end -->"
BACKENDS = ("postgres", "sqlite")


@dataclass
class LoadRun:
    status: str  # "ok", "failed (exit N)", "capped: ..."
    seconds: float
    peak_rss: int  # bytes
    rss_timeline: list[tuple[float, int]] = field(default_factory=list)
    output: str = ""
    stack: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class Measurement:
    size: int
    backend: str
    load: LoadRun
    direct_load_s: float | None = None
    cold_ms: list[float] = field(default_factory=list)
    warm_ms: list[float] = field(default_factory=list)
    plan: str = ""
    rows_in_db: int = 0

    @property
    def rows_per_s(self) -> float | None:
        return self.size / self.load.seconds if self.load.ok and self.load.seconds else None


def _vm(pid: int, key: str) -> int:
    """A /proc/<pid>/status memory figure (VmHWM, VmRSS) in bytes; 0 if gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def run_loader(
    folder: Path,
    database_url: str,
    *,
    bulk: bool,
    timeout: float,
    max_rss: int,
    workdir: Path,
    label: str,
) -> LoadRun:
    """`python -m app seed [--bulk] folder`, watched: wall time, peak RSS, and a cap on both."""
    extra = ["--bulk"] if bulk else []
    out_path = workdir / f"seed-{label}.log"
    with out_path.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "seed", *extra, str(folder)],
            cwd=ROOT,
            env=app_env(database_url),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        start = time.monotonic()
        timeline: list[tuple[float, int]] = []
        next_sample = 0.0
        peak = 0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            elapsed = time.monotonic() - start
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                peak = max(peak, usage.ru_maxrss * 1024)
                code = process.returncode
                run = LoadRun("ok" if code == 0 else f"failed (exit {code})", elapsed, peak)
                break
            peak = max(peak, _vm(process.pid, "VmHWM"))
            if elapsed >= next_sample:
                timeline.append((elapsed, _vm(process.pid, "VmRSS")))
                next_sample += 15
            reason = None
            if elapsed > timeout:
                reason = f"capped: still running after {timeout:.0f} s"
            elif peak > max_rss:
                reason = f"capped: RSS over {max_rss / 2**30:.1f} GiB after {elapsed:.0f} s"
            if reason:
                stack = py_spy_dump(process.pid)
                process.kill()
                _, _, usage = os.wait4(process.pid, 0)
                process.returncode = -9
                peak = max(peak, usage.ru_maxrss * 1024)
                run = LoadRun(reason, elapsed, peak, stack=stack)
                break
            time.sleep(0.25)
    run.rss_timeline = timeline
    run.output = out_path.read_text(errors="replace")
    return run


def py_spy_dump(pid: int) -> str:
    pyspy = DATASETTE_VENV / "bin" / "py-spy"
    if not pyspy.exists():
        return "(py-spy not installed)"
    result = subprocess.run(
        [str(pyspy), "dump", "--pid", str(pid)], capture_output=True, text=True, check=False
    )
    lines = [ln for ln in (result.stdout or result.stderr).splitlines() if ln.strip()]
    # The innermost frames of the main thread say what the loader was doing.
    return "\n".join(lines[:25])


def header_only_copy(folder: Path, target: Path) -> Path:
    """The catalogue without its assessments: what the app's loader can take at any size."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in (
        "countries.csv",
        "categories.yaml",
        "sources.yaml",
        "groups.yaml",
        "group_memberships.csv",
    ):
        shutil.copy(folder / name, target / name)
    with (folder / "assessments.csv").open(encoding="utf-8") as handle:
        (target / "assessments.csv").write_text(handle.readline(), encoding="utf-8")
    return target


COLUMNS = (
    "country_code",
    "category_key",
    "value",
    "source_id",
    "reported_via_id",
    "as_of",
    "evidence",
    "note",
)


def _csv_records(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def direct_load(folder: Path, database_url: str, workdir: Path, backend: str) -> float:
    """Reference data via the app's loader, then the assessments straight into the table."""
    start = time.monotonic()
    run_app(["seed", str(header_only_copy(folder, workdir / "reference"))], app_env(database_url))
    rows = (
        (
            r["country"],
            r["category"],
            r["value"],
            r["source"],
            r["reported_via"] or None,
            r["as_of"],
            r["evidence"],
            r["note"] or None,
        )
        for r in _csv_records(folder / "assessments.csv")
    )
    if backend == "postgres":
        import psycopg

        with (
            psycopg.connect(libpq(database_url)) as conn,
            conn.cursor() as cursor,
            cursor.copy(f"COPY assessments ({', '.join(COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
    else:
        path = database_url.removeprefix("sqlite:///")
        db = sqlite3.connect(path)
        with db:
            db.executemany(
                f"INSERT INTO assessments ({', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        db.close()
    return time.monotonic() - start


def analyze(database_url: str) -> None:
    """Fresh statistics, as autovacuum would have them a little later, for every size alike."""
    from sqlalchemy import create_engine

    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


def count_rows(database_url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM assessments")).scalar_one())
    finally:
        engine.dispose()


def _remove_files(folder: Path, pattern: str) -> None:
    for path in folder.glob(pattern):
        path.unlink(missing_ok=True)


def explain(database_url: str, code: str, backend: str) -> str:
    """The plans of the exact SQL statements `_latest_assessments` sends for one country."""
    from sqlalchemy import event

    from app.assessments import service
    from app.db import make_engine, make_sessionmaker
    from app.settings import Settings

    engine = make_engine(Settings(database_url=database_url))
    captured: list[tuple[str, Any]] = []

    def capture(conn: object, cursor: object, statement: str, params: Any, *_: object) -> None:
        captured.append((statement, params))

    try:
        with make_sessionmaker(engine)() as session:
            event.listen(engine, "before_cursor_execute", capture)
            service._latest_assessments(session, country_codes=[code], as_of=None, source_id=None)
            event.remove(engine, "before_cursor_execute", capture)
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if backend == "postgres" else "EXPLAIN QUERY PLAN "
        sections: list[str] = []
        with engine.connect() as conn:
            for statement, params in captured:
                rows = conn.exec_driver_sql(prefix + statement, params).all()
                if backend == "postgres":
                    plan = "\n".join(str(r[0]) for r in rows)
                else:
                    plan = "\n".join(" ".join(str(v) for v in r) for r in rows)
                sections.append(f"{statement.strip()}\n-- parameters: {params}\n\n{plan}")
        return "\n\n".join(sections)
    finally:
        engine.dispose()


def cold_latency(
    database_url: str, workdir: Path, name: str, codes: Sequence[str], rounds: int = 3
) -> tuple[list[float], list[float]]:
    """`rounds` fresh servers, one after another; in each, one unrelated request first (pool,
    revision), then for each country its first request (cold cache) and a second one (warm).
    Several rounds make the median of a few hundred requests steady enough to compare."""
    import httpx

    cold: list[float] = []
    warm: list[float] = []
    for _ in range(rounds):
        with (
            app_server(name, database_url, workdir) as server,
            httpx.Client(base_url=server.base, headers=PROBE_HEADERS, timeout=120) as client,
        ):
            client.get("/categories").raise_for_status()
            for code in codes:
                path = f"/countries/{code}/positions"
                start = time.perf_counter()
                client.get(path).raise_for_status()
                cold.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                client.get(path).raise_for_status()
                warm.append((time.perf_counter() - start) * 1000)
    return cold, warm


def measure(
    size: int,
    backend: str,
    folder: Path,
    codes: Sequence[str],
    args: argparse.Namespace,
    workdir: Path,
) -> Measurement:
    label = f"{backend}-{size}"
    with contextlib.ExitStack() as stack:
        if backend == "postgres":
            url = stack.enter_context(postgres_database(f"cp_bench_{os.getpid()}_{size}"))
        else:
            db_path = workdir / f"{label}.sqlite3"
            url = f"sqlite:///{db_path}"
            stack.callback(_remove_files, workdir, f"{label}*")
        run_app(["migrate"], app_env(url))
        log(
            f"{label}: `{loader_command(args)}` of {size:,} assessments "
            f"(cap {args.load_timeout:g} s)"
        )
        load = run_loader(
            folder,
            url,
            bulk=args.loader == "bulk",
            timeout=args.load_timeout,
            max_rss=int(args.max_rss_gib * 2**30),
            workdir=workdir,
            label=label,
        )
        result = Measurement(size, backend, load)
        log(
            f"{label}: loader {load.status} in {load.seconds:.1f} s, peak RSS "
            f"{load.peak_rss / 2**20:,.0f} MiB"
            + (f", {result.rows_per_s:,.0f} rows/s" if result.rows_per_s else "")
        )
        if not load.ok:
            log(f"{label}: inserting the assessments directly to measure the query anyway")
            result.direct_load_s = direct_load(folder, url, workdir, backend)
            log(f"{label}: direct load took {result.direct_load_s:.1f} s")
        analyze(url)
        result.rows_in_db = count_rows(url)
        result.plan = explain(url, codes[0], backend)
        result.cold_ms, result.warm_ms = cold_latency(url, workdir, label, codes)
        log(
            f"{label}: first request per country p50 {statistics.median(result.cold_ms):.2f} ms "
            f"(then {statistics.median(result.warm_ms):.2f} ms)"
        )
    return result


@dataclass
class ExportRun:
    label: str  # "1 CSV", "4 CSV at once", ...
    backend: str
    rows: int
    cache: bool
    clients: int
    baseline_rss: int  # bytes: the idle server, after one small export
    peak_rss: int  # bytes
    first_byte_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    body_bytes: int = 0

    @property
    def growth(self) -> int:
        return max(self.peak_rss - self.baseline_rss, 0)


def _remove(folder: Path, pattern: str) -> None:
    for path in folder.glob(pattern):
        path.unlink(missing_ok=True)


class RssSampler:
    """Peak RSS of a process while a block runs: VmHWM (reset first, where the kernel
    allows it) and VmRSS sampled every `interval` s, whichever is higher."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        import threading

        self.pid = pid
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _vm(self.pid, "VmRSS"))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        with contextlib.suppress(OSError):
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # resets VmHWM
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _vm(self.pid, "VmHWM"))


def _export_once(base: str, path: str) -> tuple[float, int]:
    """(ms to the first body byte, body bytes) of one export, read as fast as it comes."""
    import httpx

    start = time.perf_counter()
    first = 0.0
    size = 0
    with (
        httpx.Client(base_url=base, headers=PROBE_HEADERS, timeout=600) as client,
        client.stream("GET", path) as response,
    ):
        response.raise_for_status()
        for chunk in response.iter_raw(65536):
            if not size and chunk:
                first = (time.perf_counter() - start) * 1000
            size += len(chunk)
    return first, size


def measure_exports(
    backend: str, folder: Path, code: str, rows: int, args: argparse.Namespace, workdir: Path
) -> list[ExportRun]:
    """Load the concentrated catalogue, then for a fresh server (response cache on, as
    deployed, and off: the cache keeps up to CP_CACHE_MAX_BYTES of a body it may store)
    the export runs of ExportRun, each under an RSS sampler."""
    from concurrent.futures import ThreadPoolExecutor

    label = f"{backend}-export-{rows}"
    runs: list[ExportRun] = []
    with contextlib.ExitStack() as stack:
        if backend == "postgres":
            url = stack.enter_context(postgres_database(f"cp_bench_{os.getpid()}_export"))
        else:
            url = f"sqlite:///{workdir / f'{label}.sqlite3'}"
            stack.callback(_remove, workdir, f"{label}*")
        run_app(["migrate"], app_env(url))
        log(f"{label}: `python -m app seed --bulk` of {rows:,} assessments on {code}")
        load = run_loader(
            folder,
            url,
            bulk=True,
            timeout=args.load_timeout,
            max_rss=int(args.max_rss_gib * 2**30),
            workdir=workdir,
            label=label,
        )
        if not load.ok:
            log(f"{label}: loader {load.status}; inserting the assessments directly")
            direct_load(folder, url, workdir, backend)
        analyze(url)
        path = f"/countries/{code}/assessments"
        plans = [
            ("1 CSV", "csv", 1),
            ("4 CSV at once", "csv", 4),
            ("4 NDJSON at once", "ndjson", 4),
        ]
        for cache in (True, False):
            with app_server(
                f"{label}-{'cache' if cache else 'nocache'}", url, workdir, cache=cache
            ) as server:
                _export_once(server.base, path + "?format=csv&limit=500")  # warm: imports, pool
                baseline = _vm(server.pid, "VmRSS")
                for name, fmt, clients in plans:
                    run = ExportRun(name, backend, rows, cache, clients, baseline, 0)
                    start = time.monotonic()
                    with RssSampler(server.pid) as sampler, ThreadPoolExecutor(clients) as pool:
                        # Distinct queries (offsets 1-4): each a response-cache miss.
                        targets = [f"{path}?format={fmt}&offset={i + 1}" for i in range(clients)]
                        if clients == 1:
                            targets = [f"{path}?format={fmt}"]
                        results = list(pool.map(_export_once, [server.base] * clients, targets))
                    run.seconds = time.monotonic() - start
                    run.peak_rss = sampler.peak
                    run.first_byte_ms = [r[0] for r in results]
                    run.body_bytes = results[0][1]
                    runs.append(run)
                    log(
                        f"{label}: {name} (cache {'on' if cache else 'off'}): RSS +"
                        f"{_mib(run.growth)} MiB over {_mib(baseline)} MiB, first byte "
                        f"{max(run.first_byte_ms):.0f} ms, {run.seconds:.1f} s, "
                        f"{run.body_bytes / 2**20:,.0f} MiB each"
                    )
    return runs


def render_exports(runs: Sequence[ExportRun]) -> str:
    if not runs:
        return ""
    lines = [
        "Exports: `GET /countries/{code}/assessments?format=csv|ndjson` of one country holding "
        "all assessments, read at full speed by 1 or 4 clients at once; RSS growth is the "
        "server's peak (VmHWM, and VmRSS sampled every 20 ms) over its idle RSS.",
        "",
        "| backend | rows | response cache | export | idle RSS MiB | RSS growth MiB | "
        "first byte ms (max) | wall s | rows/s per client | body MiB |",
        "|" + "---|" * 10,
    ]
    for r in runs:
        lines.append(
            f"| {r.backend} | {r.rows:,} | {'on' if r.cache else 'off'} | {r.label} | "
            f"{_mib(r.baseline_rss)} | {_mib(r.growth)} | {max(r.first_byte_ms):.0f} | "
            f"{r.seconds:.1f} | {r.rows / r.seconds:,.0f} | {r.body_bytes / 2**20:,.0f} |"
        )
    return "\n".join(lines)


def run_exports(
    args: argparse.Namespace, backends: Sequence[str], workdir: Path
) -> list[ExportRun]:
    rows = args.export_country_rows
    folder = workdir / "catalogue-export"
    generate.generate(
        folder,
        countries=args.countries,
        sources=args.sources,
        assessments=rows,
        seed=1,
        export_country_rows=rows,
    )
    code = generate.pick_countries(args.countries)[0].code
    runs: list[ExportRun] = []
    for backend in backends:
        runs += measure_exports(backend, folder, code, rows, args, workdir)
    shutil.rmtree(folder)
    return runs


def loader_command(args: argparse.Namespace) -> str:
    return "python -m app seed" + (" --bulk" if args.loader == "bulk" else "")


def _mib(value: int) -> str:
    return f"{value / 2**20:,.0f}"


def render(
    command: str, started: datetime, args: argparse.Namespace, results: Sequence[Measurement]
) -> str:
    base: dict[str, float] = {}
    for r in results:
        base.setdefault(r.backend, statistics.median(r.cold_ms))
    lines = [
        f"Run {started.strftime('%Y-%m-%d %H:%M UTC')} with `.venv/bin/{command}`: "
        f"{args.countries} countries, {args.sources} sources, 4 categories; loaded with "
        f"`{loader_command(args)}`, capped at {args.load_timeout:g} s or "
        f"{args.max_rss_gib:g} GiB RSS.",
        "",
        "| assessments | backend | loader | wall s | rows/s | loader peak RSS MiB | "
        "direct insert s | rows in DB | cold per-country p50 ms | cold p90 ms | "
        "p50 ÷ smallest | warm p50 ms |",
        "|" + "---|" * 12,
    ]
    for r in results:
        p50 = statistics.median(r.cold_ms)
        lines.append(
            f"| {r.size:,} | {r.backend} | {r.load.status} | {r.load.seconds:.1f} | "
            f"{'-' if r.rows_per_s is None else f'{r.rows_per_s:,.0f}'} | "
            f"{_mib(r.load.peak_rss)} | "
            f"{'-' if r.direct_load_s is None else f'{r.direct_load_s:.1f}'} | "
            f"{r.rows_in_db:,} | {p50:.2f} | {percentile(r.cold_ms, 90):.2f} | "
            f"{p50 / base[r.backend]:.2f}x | {statistics.median(r.warm_ms):.2f} |"
        )
    for r in results:
        if not r.load.ok:
            timeline = ", ".join(f"{t:.0f} s: {_mib(v)} MiB" for t, v in r.load.rss_timeline)
            lines += [
                "",
                f"{r.backend}, {r.size:,} assessments: the loader was {r.load.status}. "
                f"RSS over time: {timeline}. Its stack when stopped (py-spy dump):",
                "",
                "```",
                r.load.stack,
                "```",
            ]
    largest = {r.backend: r for r in results}
    for backend, r in largest.items():
        lines += [
            "",
            f"{backend} plan of the per-country positions query at {r.size:,} assessments:",
            "",
            "```",
            r.plan,
            "```",
        ]
    return "\n".join(lines)


def update_readme(text: str) -> None:
    current = README.read_text(encoding="utf-8")
    start, end = current.index(README_START), current.index(README_END)
    README.write_text(
        current[: start + len(README_START)] + "\n" + text + "\n" + current[end:], encoding="utf-8"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale",
        description="Load synthetic catalogues of growing size with `python -m app seed "
        "--bulk` into PostgreSQL and SQLite; print rows/s, the loader's peak RSS, the "
        "per-country query's cold latency and its plan. Figures only.",
    )
    parser.add_argument(
        "--sizes",
        default="1000,100000,1000000",
        help="assessment counts, comma-separated (default: %(default)s)",
    )
    parser.add_argument(
        "--backends", default=",".join(BACKENDS), help="postgres and/or sqlite (default: both)"
    )
    parser.add_argument(
        "--loader",
        choices=("bulk", "seed"),
        default="bulk",
        help="bulk: `seed --bulk` (staging table, COPY on PostgreSQL; streamed); seed: the "
        "regular loader, which holds every row as an ORM object (default: %(default)s)",
    )
    parser.add_argument("--countries", type=int, default=249, help="(default: %(default)s)")
    parser.add_argument("--sources", type=int, default=10, help="(default: %(default)s)")
    parser.add_argument(
        "--load-timeout",
        type=float,
        default=300,
        help="stop a load after this many seconds and report it (default: %(default)s)",
    )
    parser.add_argument(
        "--max-rss-gib",
        type=float,
        default=8,
        help="stop a load whose RSS exceeds this many GiB (default: %(default)s)",
    )
    parser.add_argument(
        "--only",
        choices=("all", "scale", "exports"),
        default="all",
        help="scale: the loads and per-country reads; exports: the export memory figures "
        "(default: %(default)s, both)",
    )
    parser.add_argument(
        "--export-country-rows",
        type=int,
        default=1_000_000,
        help="assessments of the one country the export figures export (default: %(default)s)",
    )
    parser.add_argument(
        "--readme",
        choices=("auto", "yes", "no"),
        default="auto",
        help="update bench/README.md: auto = when the default sizes ran (default: auto)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(raw)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if set(backends) - set(BACKENDS):
        raise SystemExit(f"--backends: choose from {', '.join(BACKENDS)}")
    command = "python -m bench.scale" + ("" if not raw else " " + " ".join(raw))
    started = datetime.now(UTC)
    ensure_bench_venv()  # py-spy, to show where a capped load was
    log(f"PostgreSQL server: {postgres_server_url().split('@')[-1]}")
    results: list[Measurement] = []
    exports: list[ExportRun] = []
    with tempfile.TemporaryDirectory(prefix="cp-scale-") as tmp:
        workdir = Path(tmp)
        for size in sizes if args.only != "exports" else []:
            folder = workdir / f"catalogue-{size}"
            start = time.monotonic()
            generate.generate(
                folder,
                countries=args.countries,
                sources=args.sources,
                assessments=size,
                seed=1,
            )
            megabytes = (folder / "assessments.csv").stat().st_size / 2**20
            log(
                f"generated {size:,} assessments ({megabytes:,.1f} MiB) in "
                f"{time.monotonic() - start:.1f} s"
            )
            codes = [c.code for c in generate.pick_countries(args.countries)]
            for backend in backends:
                results.append(measure(size, backend, folder, codes, args, workdir))
            shutil.rmtree(folder)
        if args.only != "scale":
            exports = run_exports(args, backends, workdir)
    sections = [render(command, started, args, results)] if results else [f"`{command}`"]
    report = "\n\n".join([*sections, render_exports(exports)]).strip()
    print()
    print(report)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}-scale.md"
    path.write_text(report + "\n", encoding="utf-8")
    log(f"wrote {path.relative_to(ROOT)}")
    default_run = (
        args.sizes == "1000,100000,1000000" and args.loader == "bulk" and args.only == "all"
    )
    if args.readme == "yes" or (args.readme == "auto" and default_run):
        update_readme(report)
        log(f"updated {README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
