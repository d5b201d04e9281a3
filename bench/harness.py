"""What the benchmarks share (bench/run.py, bench/scale.py, bench/servers.py): paths, the
tools (wrk, the Datasette venv), CPU accounting from /proc, server subprocesses, PostgreSQL
databases of their own, and wrk runs (Scenario, Load, Result)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
README = BENCH / "README.md"
DATASETTE_VENV = BENCH / ".venv-datasette"
REQUIREMENTS = BENCH / "requirements.txt"
SEEDS = ROOT / "seeds"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# What wrk sends (besides Host), and what every probe sends, so ETags and cache keys match.
ACCEPT = "*/*"
PROBE_HEADERS = {"Accept": ACCEPT, "Accept-Encoding": "identity"}
CLK_TCK = os.sysconf("SC_CLK_TCK")
MISS_YEARS = (1000, 2999)


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


# --------------------------------------------------------------------------- tools


def ensure_wrk() -> str:
    """wrk from Debian; installed with apt-get when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    log("wrk not found: running `apt-get install -y wrk`")
    if subprocess.run([*sudo, "apt-get", "install", "-y", "wrk"], check=False).returncode != 0:
        log("that failed: running `apt-get update`, then `apt-get install -y wrk` again")
        subprocess.run([*sudo, "apt-get", "update"], check=True)
        subprocess.run([*sudo, "apt-get", "install", "-y", "wrk"], check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is still not on PATH after apt-get install")
    return found


def ensure_bench_venv() -> Path:
    """bench/.venv-datasette holds Datasette and py-spy, apart from the project's venv."""
    marker = DATASETTE_VENV / f".installed-{_digest(REQUIREMENTS.read_bytes())}"
    if marker.exists():
        return DATASETTE_VENV
    python = shutil.which("python3") or sys.executable
    if not (DATASETTE_VENV / "bin" / "python").exists():
        log(f"creating {DATASETTE_VENV.relative_to(ROOT)} (`{python} -m venv`)")
        subprocess.run([python, "-m", "venv", str(DATASETTE_VENV)], check=True)
    pip = [str(DATASETTE_VENV / "bin" / "python"), "-m", "pip"]
    log(f"installing {REQUIREMENTS.relative_to(ROOT)} into it: `pip install -r ...`")
    subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "--quiet", "-r", str(REQUIREMENTS)], check=True)
    for stale in DATASETTE_VENV.glob(".installed-*"):
        stale.unlink()
    marker.touch()
    return DATASETTE_VENV


def _digest(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()[:12]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --------------------------------------------------------------------------- CPU time


def _proc_stat(pid: int) -> tuple[int, float, float] | None:
    """(ppid, own utime+stime, reaped children's) in seconds, from /proc/<pid>/stat."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    rest = text[text.rfind(")") + 2 :].split()
    ppid = int(rest[1])
    own = (int(rest[11]) + int(rest[12])) / CLK_TCK
    children = (int(rest[13]) + int(rest[14])) / CLK_TCK
    return ppid, own, children


def tree_cpu_seconds(root: int) -> float:
    """CPU time of `root` and every live descendant, plus what reaped children used."""
    parents: dict[int, int] = {}
    stats: dict[int, tuple[float, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat is not None:
                parents[int(entry.name)] = stat[0]
                stats[int(entry.name)] = (stat[1], stat[2])
    tree = {root}
    grew = True
    while grew:
        new = {pid for pid, ppid in parents.items() if ppid in tree and pid not in tree}
        tree |= new
        grew = bool(new)
    return sum(sum(stats[pid]) for pid in tree if pid in stats)


def machine_busy_seconds() -> float:
    """Non-idle CPU time of the whole machine, all cores, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    return (total - idle) / CLK_TCK


# A text request line (`"GET /path HTTP/1.1" 200`) or a JSON one (`"status": 200`).
STATUS = re.compile(rb'HTTP/1\.[01]" (\d{3})|"status": (\d{3})')


def log_statuses(path: Path, offset: int) -> Counter[str]:
    """Status codes of the access-log lines a server wrote past `offset`."""
    with path.open("rb") as handle:
        handle.seek(offset)
        return Counter((m.group(1) or m.group(2)).decode() for m in STATUS.finditer(handle.read()))


def process_cpu(pids: Sequence[int]) -> dict[int, float]:
    out: dict[int, float] = {}
    for pid in pids:
        stat = _proc_stat(pid)
        if stat is not None:
            out[pid] = stat[1]
    return out


class PostgresBackends:
    """CPU time of the PostgreSQL backends serving one database (same machine only), and how
    many sessions were opened to it.

    A backend that exits between two snapshots (SQLAlchemy's pool closes its overflow
    connections when they are returned) takes its CPU time with it: the figure is a lower
    bound whenever sessions were opened during the run.
    """

    def __init__(self, conninfo: str, database: str) -> None:
        self.conninfo = conninfo
        self.database = database

    def snapshot(self) -> tuple[dict[int, float], int]:
        import psycopg

        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (self.database,),
            ).fetchall()
            conn.execute("SELECT pg_stat_clear_snapshot()")
            sessions = conn.execute(
                "SELECT coalesce(sessions, 0) FROM pg_stat_database WHERE datname = %s",
                (self.database,),
            ).fetchone()
        return process_cpu([int(r[0]) for r in rows]), int(sessions[0]) if sessions else 0


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    name: str
    base: str
    process: subprocess.Popen[bytes]
    log_path: Path
    database: str | None = None  # PostgreSQL database name, for the backends' CPU

    @property
    def pid(self) -> int:
        return self.process.pid


@contextlib.contextmanager
def serve(
    name: str,
    argv: Sequence[str],
    env: dict[str, str],
    *,
    port: int,
    ready_path: str,
    workdir: Path,
    timeout: float = 60.0,
    database: str | None = None,
) -> Iterator[Server]:
    """Start a server subprocess (output to a file, never a pipe) and wait until it answers."""
    import httpx

    log_path = workdir / f"{name}.log"
    handle = log_path.open("wb")
    process = subprocess.Popen(
        list(argv), cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {process.returncode}:\n{log_path.read_text()[-3000:]}"
                )
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(base + ready_path, timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} not ready on {base} after {timeout}s")
            time.sleep(0.1)
        log(f"{name} is up on {base} (pid {process.pid})")
        yield Server(name, base, process, log_path, database)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        handle.close()


def app_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        **extra,
    }


def run_app(argv: Sequence[str], env: dict[str, str], *, quiet: bool = True) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "app", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"`app {' '.join(argv)}` failed:\n{result.stdout}\n{result.stderr}")
    if not quiet:
        print(result.stdout, end="")
    return result.stdout


def app_server(
    name: str, database_url: str, workdir: Path, *, cache: bool = True, database: str | None = None
) -> contextlib.AbstractContextManager[Server]:
    """`country-positions serve` as shipped, but with rate limiting off (wrk is one client
    address: it would measure the 429 path) and, with `cache=False`, the response cache off."""
    port = free_port()
    extra = {"CP_RATE_LIMIT_ENABLED": "false"}
    if not cache:
        extra["CP_CACHE_ENABLED"] = "false"
    return serve(
        name,
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        app_env(database_url, **extra),
        port=port,
        ready_path="/readyz",
        workdir=workdir,
        database=database,
    )


# --------------------------------------------------------------------------- PostgreSQL


def postgres_server_url() -> str:
    url = os.environ.get("CP_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def libpq(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """Create database `name` on CP_BENCH_POSTGRES_URL's server; drop it afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = postgres_server_url()
    with psycopg.connect(libpq(server), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    log(f"created PostgreSQL database {name}")
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq(server), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        log(f"dropped PostgreSQL database {name}")


# --------------------------------------------------------------------------- wrk


@dataclass
class Scenario:
    """What wrk requests: it rotates over `paths` (with `etags`), or, given a `template`,
    builds a fresh URL per request from it (`{code}` from `codes`, `{as_of}` a random date);
    `paths` then holds the samples that were probed."""

    key: str
    paths: list[str]
    etags: list[str] | None = None
    body_bytes: float = 0.0
    template: str | None = None
    codes: list[str] = field(default_factory=list)


@dataclass
class Result:
    server: str
    scenario: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    server_cpu_s: float
    db_cpu_s: float | None
    db_sessions: int | None
    client_cpu_s: float
    body_bytes: float
    wire_bytes: float
    statuses: Counter[str]
    machine_busy_s: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_us(self) -> float:
        return self.server_cpu_s / self.requests * 1e6 if self.requests else 0.0

    @property
    def db_cpu_us(self) -> float | None:
        if self.db_cpu_s is None or not self.requests:
            return None
        return self.db_cpu_s / self.requests * 1e6

    @property
    def server_cpu_pct(self) -> float:
        return self.server_cpu_s / self.seconds * 100 if self.seconds else 0.0

    @property
    def other_cpu_pct(self) -> float:
        """CPU the rest of the machine used meanwhile (not server, database or wrk), in % of
        one core: anything much above zero means the figures were disturbed."""
        ours = self.server_cpu_s + (self.db_cpu_s or 0.0) + self.client_cpu_s
        return max(self.machine_busy_s - ours, 0.0) / self.seconds * 100 if self.seconds else 0.0

    @property
    def status_text(self) -> str:
        total = sum(self.statuses.values())
        if not total:
            return "?"
        return " ".join(f"{code}:{n / total:.0%}" for code, n in self.statuses.most_common())


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


# wrk's done(): requests, duration and latency percentiles as one JSON line.
LUA_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH-JSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"bytes\\": %d, "
      .. "\\"p50_us\\": %d, \\"p99_us\\": %d, \\"max_us\\": %d, \\"errors\\": %d}\\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def _lua_concat(template: str) -> str:
    """`template` as a Lua expression joining its literal parts and the variables `code` and
    `as_of`, e.g. "/countries/" .. code .. "/positions?as_of=" .. as_of."""
    parts = [p for p in re.split(r"(\{code\}|\{as_of\})", template) if p]
    return " .. ".join(p[1:-1] if p in ("{code}", "{as_of}") else _lua_string(p) for p in parts)


def lua_script(scenario: Scenario) -> str:
    """Requests are built once per wrk thread (or, for a template, once per request); each
    names Accept (and If-None-Match), because wrk.format with a header table ignores
    wrk.headers."""
    if scenario.template is not None:
        return _lua_miss_script(scenario.template, scenario.codes)
    paths = ",\n  ".join(_lua_string(p) for p in scenario.paths)
    etags = ",\n  ".join(_lua_string(e) for e in scenario.etags or [])
    return (
        f"""-- generated by bench/run.py: rotate over the URLs (and ETags) below
local paths = {{
  {paths}
}}
local etags = {{
  {etags}
}}
local built = {{}}
for k, path in ipairs(paths) do
  local headers = {{["Accept"] = {_lua_string(ACCEPT)}}}
  if #etags > 0 then
    headers["If-None-Match"] = etags[k]
  end
  built[k] = wrk.format("GET", path, headers)
end
local n = #built
local i = 0

request = function()
  i = i + 1
  return built[(i % n) + 1]
end
"""
        + LUA_DONE
    )


def _lua_miss_script(template: str, codes: Sequence[str]) -> str:
    """A fresh URL per request: a random code and a random date per request, each wrk thread
    seeded apart (a thread repeating another's sequence would hit the cache it filled)."""
    code_list = ", ".join(_lua_string(c) for c in codes) or '""'
    first, last = MISS_YEARS
    script = f"""-- generated by bench/run.py: a fresh random URL per request (random code and date)
local codes = {{ {code_list} }}
local headers = {{["Accept"] = {_lua_string(ACCEPT)}}}
local started = 0

setup = function(thread)
  started = started + 1
  thread:set("thread_number", started)
end

init = function(args)
  math.randomseed(os.time() * 1000 + (thread_number or 0) * 7919)
end

request = function()
  local code = codes[math.random(#codes)]
  local as_of = string.format(
    "%04d-%02d-%02d", math.random({first}, {last}), math.random(12), math.random(28))
  return wrk.format("GET", {_lua_concat(template)}, headers)
end
"""
    return script + LUA_DONE


# "other CPU %" above this means a run was disturbed. A quiet machine shows 10-30 %: kernel
# time for loopback networking that is charged to no process.
DISTURBED = 50.0


def settle(limit: float, threshold: float = 30.0) -> None:
    """Wait (up to `limit` s) until the machine is quiet: less than `threshold` % of one core
    busy over a second, while our server idles. Other work on a 2-core box skews every figure."""
    deadline = time.monotonic() + limit
    waited = False
    while True:
        before = machine_busy_seconds()
        time.sleep(1.0)
        busy = (machine_busy_seconds() - before) * 100
        if busy < threshold or time.monotonic() > deadline:
            if waited:
                log(f"  machine now {busy:.0f}% busy; going on")
            return
        if not waited:
            log(f"  machine {busy:.0f}% busy with other work; waiting up to {limit:g} s")
            waited = True


@dataclass
class Load:
    wrk: str
    duration: float
    warmup: float
    connections: int
    threads: int
    workdir: Path
    settle: float = 60.0
    retries: int = 2

    def run(self, base: str, script: Path, seconds: float) -> tuple[dict[str, Any], float]:
        """One wrk run; its done() summary and wrk's own CPU time. wrk takes whole seconds
        only: a fraction is rounded up."""
        whole = max(1, -int(-seconds // 1))
        argv = [self.wrk, f"-t{self.threads}", f"-c{self.connections}", f"-d{whole}s"]
        argv += ["--latency", "--timeout", "10s", "-s", str(script), base]
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert process.stdout is not None
        output = process.stdout.read().decode()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(f"wrk failed ({process.returncode}):\n{output}")
        line = next((ln for ln in output.splitlines() if ln.startswith("BENCH-JSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk printed no summary:\n{output}")
        summary: dict[str, Any] = json.loads(line.removeprefix("BENCH-JSON "))
        return summary, usage.ru_utime + usage.ru_stime

    def measure(
        self, server: Server, scenario: Scenario, backends: PostgresBackends | None
    ) -> Result:
        """Measure; when other work on the machine took more than DISTURBED % of a core
        meanwhile, measure again (up to `retries` times) and keep the least disturbed run."""
        best: Result | None = None
        for attempt in range(self.retries + 1):
            result = self._measure_once(server, scenario, backends)
            if best is None or result.other_cpu_pct < best.other_cpu_pct:
                best = result
            if result.other_cpu_pct <= DISTURBED:
                break
            if attempt < self.retries:
                log(
                    f"  other work took {result.other_cpu_pct:.0f}% of a core meanwhile "
                    f"({result.rps:,.0f} req/s): measuring again"
                )
        assert best is not None
        return best

    def _measure_once(
        self, server: Server, scenario: Scenario, backends: PostgresBackends | None
    ) -> Result:
        script = self.workdir / f"{server.name}-{scenario.key}.lua"
        script.write_text(lua_script(scenario))
        if self.settle > 0:
            settle(self.settle)
        if self.warmup > 0:
            self.run(server.base, script, self.warmup)
        db_before = backends.snapshot() if backends else None
        log_offset = server.log_path.stat().st_size
        busy_before = machine_busy_seconds()
        cpu_before = tree_cpu_seconds(server.pid)
        summary, client_cpu = self.run(server.base, script, self.duration)
        cpu_after = tree_cpu_seconds(server.pid)
        busy_after = machine_busy_seconds()
        time.sleep(0.2)  # let the access log catch up
        db_cpu: float | None = None
        db_sessions: int | None = None
        if backends and db_before is not None:
            time.sleep(0.8)  # sessions are counted when they end, and reported within ~1 s
            after, sessions = backends.snapshot()
            db_cpu = sum(v - db_before[0].get(pid, 0.0) for pid, v in after.items())
            db_sessions = sessions - db_before[1]
        return Result(
            server=server.name,
            scenario=scenario.key,
            requests=int(summary["requests"]),
            seconds=summary["duration_us"] / 1e6,
            p50_ms=summary["p50_us"] / 1000,
            p99_ms=summary["p99_us"] / 1000,
            max_ms=summary["max_us"] / 1000,
            errors=int(summary["errors"]),
            server_cpu_s=cpu_after - cpu_before,
            db_cpu_s=db_cpu,
            db_sessions=db_sessions,
            client_cpu_s=client_cpu,
            body_bytes=scenario.body_bytes,
            wire_bytes=summary["bytes"] / max(int(summary["requests"]), 1),
            statuses=log_statuses(server.log_path, log_offset),
            machine_busy_s=busy_after - busy_before,
        )


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]
