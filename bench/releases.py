"""Releases benchmark (issue 14): what a release costs, and what the row history costs writes.

    .venv/bin/python -m bench.releases                          # 1M assessments, both backends
    .venv/bin/python -m bench.releases --sizes 100000 --backends sqlite --change-percent 5

For each size it writes a synthetic catalogue (bench/generate.py), then for each backend, on
a fresh database (as bench/scale.py makes them):

1. `python -m app seed --bulk DIR`: wall time (compare bench/README.md's "Scale" table,
   measured before the versioning triggers existed);
2. `python -m app release create 2026.1`: wall time (the issue's target is <= 30 s at 1M)
   and what it added: history rows (0 expected: nothing changed), and the size growth,
   `pg_total_relation_size` of every `*_history` table and of `releases` on PostgreSQL, the
   database file (with its WAL) on SQLite;
3. a re-seed of an edited copy of the catalogue in which `--change-percent` of the
   assessments have a new evidence text: wall time, and how many history rows it filed
   (the changed rows, if a change costs in proportion to itself, not to the table);
4. `release create 2026.2`, then `--rounds` fresh servers (`python -m app serve`), each
   answering, after one unrelated request (pool, imports), the first request of
   `/releases/2026.1/stats` and of `/releases/2026.1/countries/<code>/positions` for
   `--countries-probed` countries, then the live `/stats` and `/countries/<code>/positions`
   of the same countries: cold medians (the response cache and positions memo are empty
   for each URL's first request).

With `--profile`, a last `release create 2026.3` runs under cProfile and the top functions
by cumulative time are printed. Figures only: nothing passes or fails on a timing.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import pstats
import shutil
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

if __package__ in (None, ""):  # run as `python bench/releases.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import generate
from bench.harness import (
    PROBE_HEADERS,
    README,
    RESULTS,
    ROOT,
    app_env,
    app_server,
    log,
    postgres_database,
    postgres_server_url,
    run_app,
)
from bench.scale import LoadRun, analyze, run_loader

README_START = "<!-- bench:releases:start -->"
README_END = "<!-- bench:releases:end -->"
BACKENDS = ("sqlite", "postgres")
FIRST, SECOND, PROFILED = "2026.1", "2026.2", "2026.3"
# Made through the API, then the releases the frozen reads cycle over (with the two above).
API_RELEASE = "2026.4"
CYCLED = 10
# Frozen reads per figure (each over 1 release, then cycling over CYCLED).
FROZEN_READS = 500


@dataclass
class Timed:
    seconds: float
    output: str


@dataclass
class Measurement:
    size: int
    backend: str
    seed: LoadRun
    release1: Timed | None = None
    release1_history_rows: int = 0
    size_before: int = 0  # bytes: history tables + releases (PostgreSQL), file (SQLite)
    size_after: int = 0
    changed: int = 0
    reseed: LoadRun | None = None
    reseed_history_rows: int = 0
    reseed_size_growth: int = 0
    release2: Timed | None = None
    frozen_stats_ms: list[float] = field(default_factory=list)
    live_stats_ms: list[float] = field(default_factory=list)
    frozen_country_ms: list[float] = field(default_factory=list)
    live_country_ms: list[float] = field(default_factory=list)
    profile: str = ""
    failures: Counter[str] = field(default_factory=Counter)
    api_release_s: float | None = None
    zip_cold_s: float | None = None
    zip_cold_polls: int = 0
    zip_warm_s: float | None = None
    zip_bytes: int = 0
    frozen_one_per_s: float | None = None
    frozen_cycled_per_s: float | None = None


def release_create(url: str, version: str, *, profile: Path | None = None) -> Timed:
    """`python -m app release create VERSION`, timed (optionally under cProfile)."""
    prefix = ["-m", "cProfile", "-o", str(profile)] if profile else []
    argv = [sys.executable, *prefix, "-m", "app", "release", "create", version]
    start = time.monotonic()
    result = subprocess.run(
        argv, cwd=ROOT, env=app_env(url), capture_output=True, text=True, check=False
    )
    seconds = time.monotonic() - start
    if result.returncode != 0:
        raise RuntimeError(f"`release create {version}` failed:\n{result.stdout}{result.stderr}")
    return Timed(seconds, result.stdout.strip())


def history_rows(url: str) -> int:
    """Rows in every `*_history` table."""
    from sqlalchemy import create_engine, text

    from app.releases.history import VERSIONED_TABLES, history_name

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return sum(
                int(conn.execute(text(f"SELECT count(*) FROM {history_name(t)}")).scalar_one())
                for t in VERSIONED_TABLES
            )
    finally:
        engine.dispose()


def storage_bytes(url: str, backend: str) -> int:
    """What a release may grow: the history tables and `releases` with their indexes and
    TOAST (PostgreSQL), or the database file with its WAL and shared memory (SQLite)."""
    if backend == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        return sum(
            p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists()
        )
    from sqlalchemy import create_engine, text

    from app.releases.history import VERSIONED_TABLES, history_name

    tables = [history_name(t) for t in VERSIONED_TABLES] + ["releases"]
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return sum(
                int(conn.execute(text(f"SELECT pg_total_relation_size('{t}')")).scalar_one())
                for t in tables
            )
    finally:
        engine.dispose()


def edited_copy(folder: Path, target: Path, percent: float) -> int:
    """`folder` with every (100 / percent)-th assessment's evidence changed; how many."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(folder, target, ignore=shutil.ignore_patterns("assessments.csv"))
    step = max(1, round(100 / percent))
    changed = 0
    with (
        (folder / "assessments.csv").open(encoding="utf-8", newline="") as source,
        (target / "assessments.csv").open("w", encoding="utf-8", newline="") as out,
    ):
        reader = csv.reader(source)
        writer = csv.writer(out)
        header = next(reader)
        writer.writerow(header)
        evidence = header.index("evidence")
        for i, row in enumerate(reader):
            if i % step == 0:
                row[evidence] += " Revised."
                changed += 1
            writer.writerow(row)
    return changed


def probe_latency(
    result: Measurement, url: str, workdir: Path, codes: Sequence[str], rounds: int
) -> None:
    """Fresh servers: the first (cold) request of the frozen and the live reads."""
    import httpx

    for n in range(rounds):
        name = f"{result.backend}-{result.size}-serve-{n}"
        with (
            app_server(name, url, workdir) as server,
            httpx.Client(base_url=server.base, headers=PROBE_HEADERS, timeout=300) as client,
        ):
            client.get("/categories").raise_for_status()

            def timed(path: str) -> float:
                """ms to the response; a status other than 200 is counted, not raised:
                a read past CP_REQUEST_DEADLINE is answered 503, and that is a figure."""
                start = time.perf_counter()
                status = client.get(path).status_code
                elapsed = (time.perf_counter() - start) * 1000
                if status != 200:
                    result.failures[f"{path.split('/countries/')[0]} {status}"] += 1
                    log(
                        f"{result.backend}-{result.size}: {path} answered {status} "
                        f"after {elapsed:,.0f} ms"
                    )
                return elapsed

            result.frozen_stats_ms.append(timed(f"/releases/{FIRST}/stats"))
            for code in codes:
                result.frozen_country_ms.append(
                    timed(f"/releases/{FIRST}/countries/{code}/positions")
                )
            result.live_stats_ms.append(timed("/stats"))
            for code in codes:
                result.live_country_ms.append(timed(f"/countries/{code}/positions"))


def measure_api(
    result: Measurement, url: str, workdir: Path, codes: Sequence[str], profiled: bool
) -> None:
    """Through a server, as users do (issue 20): `POST /releases` (exempt from the request
    deadlines), the first `data.zip` of it (cold: built once, polled through its 503s) and
    a second one (warm: the stored file), then sequential frozen reads over one release
    against reads cycling over CYCLED releases (the response cache off, so each reaches
    the release)."""
    import httpx

    label = f"{result.backend}-{result.size}"
    key = run_app(["keys", "create", "--name", "bench-admin", "--scope", "admin"], app_env(url))
    auth = {"Authorization": f"Bearer {key.splitlines()[0].strip()}"}
    with (
        app_server(f"{label}-api", url, workdir, cache=False) as server,
        httpx.Client(base_url=server.base, headers=PROBE_HEADERS, timeout=900) as client,
    ):
        client.get("/categories").raise_for_status()
        start = time.perf_counter()
        made = client.post("/releases", json={"version": API_RELEASE}, headers=auth)
        result.api_release_s = time.perf_counter() - start
        if made.status_code != 201:
            result.failures[f"POST /releases {made.status_code}"] += 1
            log(f"{label}: POST /releases answered {made.status_code}: {made.text[:300]}")
            return
        log(f"{label}: POST /releases in {result.api_release_s:.1f} s")
        start = time.perf_counter()
        while True:
            zipped = client.get(f"/releases/{API_RELEASE}/data.zip")
            if zipped.status_code != 503:
                break
            result.zip_cold_polls += 1
            time.sleep(0.5)
        result.zip_cold_s = time.perf_counter() - start
        result.zip_bytes = len(zipped.content)
        if zipped.status_code != 200:
            result.failures[f"data.zip {zipped.status_code}"] += 1
            return
        start = time.perf_counter()
        again = client.get(f"/releases/{API_RELEASE}/data.zip")
        result.zip_warm_s = time.perf_counter() - start
        if again.content != zipped.content:
            result.failures["data.zip bytes differ"] += 1
        log(
            f"{label}: data.zip ({result.zip_bytes / 2**20:.1f} MiB) cold "
            f"{result.zip_cold_s:.1f} s ({result.zip_cold_polls} 503s), warm "
            f"{result.zip_warm_s:.2f} s"
        )
        made_already = [FIRST, SECOND, API_RELEASE] + ([PROFILED] if profiled else [])
        versions = list(made_already)
        for n in range(5, 5 + CYCLED):
            if len(versions) >= CYCLED:
                break
            version = f"2026.{n}"
            release_create(url, version)  # the CLI: no package is built for these
            versions.append(version)
        # Each new release's package builds in the background: let them end first.
        for version in versions:
            while client.head(f"/releases/{version}/data.zip").status_code == 503:
                time.sleep(0.5)

        def rate(cycle: Sequence[str]) -> float:
            paths = [
                f"/releases/{cycle[i % len(cycle)]}/countries/{codes[i % len(codes)]}/positions"
                for i in range(FROZEN_READS)
            ]
            for path in paths[: len(cycle) * len(codes)]:
                client.get(path)  # each release's engine and positions once
            start = time.perf_counter()
            for path in paths:
                status = client.get(path).status_code
                if status != 200:
                    result.failures[f"frozen read {status}"] += 1
            return len(paths) / (time.perf_counter() - start)

        result.frozen_one_per_s = rate(versions[:1])
        result.frozen_cycled_per_s = rate(versions)
        log(
            f"{label}: frozen reads {result.frozen_one_per_s:,.0f}/s over 1 release, "
            f"{result.frozen_cycled_per_s:,.0f}/s over {len(versions)}"
        )


def top_functions(path: Path, limit: int = 14) -> str:
    """The release's own call chain by cumulative time, then the top functions by own time
    (imports and CLI start-up left out of the first list)."""
    parts: list[str] = []
    for order, restriction in (
        ("cumulative", r"create_release|content_digest|_rows|_canonical|execute|fetch|dumps"),
        ("tottime", None),
    ):
        out = io.StringIO()
        stats = pstats.Stats(str(path), stream=out).strip_dirs().sort_stats(order)
        stats.print_stats(*([restriction, limit] if restriction else [limit]))
        lines = out.getvalue().splitlines()
        start = next((i for i, ln in enumerate(lines) if "ncalls" in ln), 0)
        parts.append(
            f"by {order}:\n" + "\n".join(ln.rstrip() for ln in lines[start:] if ln.strip())
        )
    return "\n\n".join(parts)


def measure(
    size: int,
    backend: str,
    folder: Path,
    edited: Path,
    changed: int,
    codes: Sequence[str],
    args: argparse.Namespace,
    workdir: Path,
) -> Measurement:
    label = f"{backend}-{size}"
    with contextlib.ExitStack() as stack:
        if backend == "postgres":
            url = stack.enter_context(postgres_database(f"cp_bench_{os.getpid()}_rel_{size}"))
        else:
            url = f"sqlite:///{workdir / f'{label}.sqlite3'}"
            stack.callback(_remove_files, workdir, f"{label}.sqlite3*")
        run_app(["migrate"], app_env(url))

        def load(catalogue: Path, step: str) -> LoadRun:
            return run_loader(
                catalogue,
                url,
                bulk=True,
                timeout=args.load_timeout,
                max_rss=8 * 2**30,
                workdir=workdir,
                label=f"{label}-{step}",
            )

        seed = load(folder, "seed")
        log(f"{label}: seed --bulk {seed.status} in {seed.seconds:.1f} s")
        result = Measurement(size, backend, seed)
        if not seed.ok:
            log(f"{label}: the load did not finish:\n{seed.output[-2000:]}")
            return result
        analyze(url)
        before_rows = history_rows(url)
        result.size_before = storage_bytes(url, backend)
        result.release1 = release_create(url, FIRST)
        result.release1_history_rows = history_rows(url) - before_rows
        result.size_after = storage_bytes(url, backend)
        log(
            f"{label}: release create {FIRST} in {result.release1.seconds:.1f} s, "
            f"+{result.release1_history_rows} history rows, "
            f"+{(result.size_after - result.size_before) / 1024:,.0f} KiB"
        )
        result.changed = changed
        before_rows = history_rows(url)
        before_size = storage_bytes(url, backend)
        result.reseed = load(edited, "reseed")
        if not result.reseed.ok:
            log(f"{label}: the re-seed did not finish:\n{result.reseed.output[-2000:]}")
            return result
        result.reseed_history_rows = history_rows(url) - before_rows
        result.reseed_size_growth = storage_bytes(url, backend) - before_size
        log(
            f"{label}: re-seed with {changed:,} changed evidence texts in "
            f"{result.reseed.seconds:.1f} s, +{result.reseed_history_rows:,} history rows"
        )
        analyze(url)
        result.release2 = release_create(url, SECOND)
        log(f"{label}: release create {SECOND} in {result.release2.seconds:.1f} s")
        probe_latency(result, url, workdir, codes, args.rounds)
        log(
            f"{label}: cold per-country p50 frozen "
            f"{statistics.median(result.frozen_country_ms):.1f} ms, live "
            f"{statistics.median(result.live_country_ms):.1f} ms; /stats frozen "
            f"{statistics.median(result.frozen_stats_ms):.1f} ms, live "
            f"{statistics.median(result.live_stats_ms):.1f} ms"
        )
        if args.profile:
            profile = workdir / f"{label}.prof"
            timed = release_create(url, PROFILED, profile=profile)
            result.profile = (
                f"`release create {PROFILED}` under cProfile: {timed.seconds:.1f} s\n\n"
                + top_functions(profile)
            )
        measure_api(result, url, workdir, codes, args.profile)
    return result


def _remove_files(folder: Path, pattern: str) -> None:
    for path in folder.glob(pattern):
        path.unlink(missing_ok=True)


def _kib(value: int) -> str:
    return f"{value / 1024:,.0f}"


def _ms(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.1f}" if values else "-"


def _f(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _s(timed: Timed | LoadRun | None) -> str:
    return "-" if timed is None else f"{timed.seconds:.1f}"


def render(
    command: str, started: datetime, args: argparse.Namespace, results: Sequence[Measurement]
) -> str:
    lines = [
        f"Run {started.strftime('%Y-%m-%d %H:%M UTC')} with `.venv/bin/{command}`: "
        f"{args.countries} countries, {args.sources} sources, 4 categories; re-seed with "
        f"{args.change_percent:g} % of the assessments' evidence changed; latencies are "
        f"medians of the first request per URL over {args.rounds} fresh servers "
        f"({args.countries_probed} countries each). Growth: PostgreSQL "
        "`pg_total_relation_size` of the `*_history` tables and `releases`; SQLite the "
        "database file with its WAL (so a re-seed's growth also holds its change log).",
        "",
        "| assessments | backend | seed --bulk s | release create s | history rows added "
        "| release growth KiB | changed rows | re-seed s | history rows filed | re-seed growth KiB "
        "| 2nd release s | frozen positions ms | live positions ms | frozen /stats ms "
        "| live /stats ms |",
        "|" + "---|" * 15,
    ]
    for r in results:
        growth = _kib(r.size_after - r.size_before) if r.release1 else "-"
        lines.append(
            f"| {r.size:,} | {r.backend} | {_s(r.seed)} | {_s(r.release1)} | "
            f"{r.release1_history_rows:,} | {growth} | {r.changed:,} | {_s(r.reseed)} | "
            f"{r.reseed_history_rows:,} | {_kib(r.reseed_size_growth)} | {_s(r.release2)} | "
            f"{_ms(r.frozen_country_ms)} | {_ms(r.live_country_ms)} | "
            f"{_ms(r.frozen_stats_ms)} | {_ms(r.live_stats_ms)} |"
        )
    lines += [
        "",
        f"Through the API (one `serve`, response cache off): `POST /releases` of a third "
        f"release; its `data.zip`, first (cold: built once, polled every 0.5 s through its "
        f"503s) and second (warm: the stored file); {FROZEN_READS} sequential frozen "
        f"per-country reads over 1 release, then cycling over {CYCLED}.",
        "",
        "| assessments | backend | POST /releases s | data.zip MiB | cold data.zip s "
        "| 503s before it | warm data.zip s | frozen reads/s, 1 release "
        f"| frozen reads/s, {CYCLED} releases |",
        "|" + "---|" * 9,
    ]
    for r in results:
        lines.append(
            f"| {r.size:,} | {r.backend} | {_f(r.api_release_s, 1)} | "
            f"{r.zip_bytes / 2**20:,.1f} | {_f(r.zip_cold_s, 1)} | {r.zip_cold_polls} | "
            f"{_f(r.zip_warm_s, 2)} | {_f(r.frozen_one_per_s, 0)} | "
            f"{_f(r.frozen_cycled_per_s, 0)} |"
        )
    for r in results:
        if r.failures:
            listed = ", ".join(f"{k}: {n}" for k, n in sorted(r.failures.items()))
            lines += [
                "",
                f"{r.backend}, {r.size:,}: requests not answered 200 (their time is in the "
                f"medians): {listed}.",
            ]
    for r in results:
        if r.profile:
            lines += ["", f"{r.backend}, {r.size:,} assessments:", "", "```", r.profile, "```"]
    return "\n".join(lines)


def update_readme(text: str) -> None:
    current = README.read_text(encoding="utf-8")
    start, end = current.index(README_START), current.index(README_END)
    README.write_text(
        current[: start + len(README_START)] + "\n" + text + "\n" + current[end:], encoding="utf-8"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.releases",
        description="Bulk-load a synthetic catalogue, make a release, re-seed a small change, "
        "make another, and read a release cold against a fresh server; on SQLite and "
        "PostgreSQL. Figures only.",
    )
    parser.add_argument(
        "--sizes", default="1000000", help="assessment counts, comma-separated (default: 1M)"
    )
    parser.add_argument(
        "--backends", default=",".join(BACKENDS), help="sqlite and/or postgres (default: both)"
    )
    parser.add_argument(
        "--change-percent",
        type=float,
        default=1.0,
        help="share of assessments the re-seed changes (default: %(default)s)",
    )
    parser.add_argument("--countries", type=int, default=249, help="(default: %(default)s)")
    parser.add_argument("--sources", type=int, default=10, help="(default: %(default)s)")
    parser.add_argument(
        "--countries-probed",
        type=int,
        default=5,
        help="countries whose positions are read per server (default: %(default)s)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="fresh servers per backend (default: %(default)s)"
    )
    parser.add_argument(
        "--load-timeout",
        type=float,
        default=600,
        help="stop a seed after this many seconds (default: %(default)s)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also run a third `release create` under cProfile and print its top functions",
    )
    parser.add_argument(
        "--readme",
        choices=("auto", "yes", "no"),
        default="auto",
        help="update bench/README.md: auto = when 1M ran on both backends (default: auto)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(raw)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if set(backends) - set(BACKENDS):
        raise SystemExit(f"--backends: choose from {', '.join(BACKENDS)}")
    if not 0 < args.change_percent <= 100:
        raise SystemExit("--change-percent: more than 0, at most 100")
    command = "python -m bench.releases" + ("" if not raw else " " + " ".join(raw))
    started = datetime.now(UTC)
    if "postgres" in backends:
        log(f"PostgreSQL server: {postgres_server_url().split('@')[-1]}")
    results: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="cp-releases-") as tmp:
        workdir = Path(tmp)
        for size in sizes:
            folder = workdir / f"catalogue-{size}"
            start = time.monotonic()
            generate.generate(
                folder, countries=args.countries, sources=args.sources, assessments=size, seed=1
            )
            edited = workdir / f"catalogue-{size}-edited"
            changed = edited_copy(folder, edited, args.change_percent)
            log(
                f"generated {size:,} assessments and a copy with {changed:,} changed in "
                f"{time.monotonic() - start:.1f} s"
            )
            chosen = generate.pick_countries(args.countries)
            step = max(1, len(chosen) // max(1, args.countries_probed))
            codes = [c.code for c in chosen[::step]][: args.countries_probed]
            for backend in backends:
                results.append(
                    measure(size, backend, folder, edited, changed, codes, args, workdir)
                )
            shutil.rmtree(folder)
            shutil.rmtree(edited)
    report = render(command, started, args, results)
    print()
    print(report)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}-releases.md"
    path.write_text(report + "\n", encoding="utf-8")
    log(f"wrote {path.relative_to(ROOT)}")
    default_run = 1_000_000 in sizes and set(backends) == set(BACKENDS)
    if args.readme == "yes" or (args.readme == "auto" and default_run):
        update_readme(report)
        log(f"updated {README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
