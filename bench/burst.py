"""A bounded burst of concurrent cache-busting clients (asyncio + httpx), and what it got.

    .venv/bin/python -m bench.burst http://127.0.0.1:8000 --clients 200 --seconds 8

Each client loops over `GET /countries/{code}/positions?as_of=<random date>` (a URL the
response cache has not seen) until the burst ends; one more client probes `/healthz` and a
cached URL every 100 ms throughout. After the burst a probe measures how long the server
takes to answer normally again. `tests/load/` asserts on the outcomes (every request
answered, only 200/429/503-with-Retry-After, probes fine); `make bench` prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx

FIRST_DAY = date(1990, 1, 1)
DAYS = 365 * 40


def random_as_of(rng: random.Random) -> str:
    return (FIRST_DAY + timedelta(days=rng.randrange(DAYS))).isoformat()


@dataclass
class Outcome:
    """What the clients saw. `unanswered` counts transport errors and client timeouts."""

    statuses: Counter[int] = field(default_factory=Counter)
    unanswered: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    missing_retry_after: int = 0
    problem_types: Counter[str] = field(default_factory=Counter)
    probe_statuses: Counter[str] = field(default_factory=Counter)
    probe_worst_ms: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    recovery_s: float | None = None
    # Percentiles a client reported itself (wrk keeps no list of latencies).
    known_percentiles: dict[float, float] = field(default_factory=dict)

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + self.unanswered

    @property
    def answered_pct(self) -> float:
        return 100.0 * sum(self.statuses.values()) / self.sent if self.sent else 0.0

    def pct(self, status: int) -> float:
        return 100.0 * self.statuses[status] / self.sent if self.sent else 0.0

    def percentile(self, q: float) -> float:
        if q in self.known_percentiles:
            return self.known_percentiles[q]
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    def summary(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "answered_pct": round(self.answered_pct, 2),
            "statuses": dict(self.statuses),
            "unanswered": self.unanswered,
            "errors": dict(self.errors),
            "req_per_s": round(sum(self.statuses.values()) / self.seconds, 1)
            if self.seconds
            else 0.0,
            "p50_ms": round(self.percentile(50), 1),
            "p99_ms": round(self.percentile(99), 1),
            "max_ms": round(max(self.latencies_ms, default=0.0), 1),
            "missing_retry_after": self.missing_retry_after,
            "problem_types": dict(self.problem_types),
            "probes": dict(self.probe_statuses),
            "probe_worst_ms": {k: round(v, 1) for k, v in self.probe_worst_ms.items()},
            "recovery_s": None if self.recovery_s is None else round(self.recovery_s, 2),
        }


async def _client(
    http: httpx.AsyncClient,
    codes: Sequence[str],
    stop_at: float,
    outcome: Outcome,
    rng: random.Random,
) -> None:
    while time.monotonic() < stop_at:
        url = f"/countries/{rng.choice(codes)}/positions?as_of={random_as_of(rng)}"
        started = time.monotonic()
        try:
            response = await http.get(url)
        except httpx.HTTPError as exc:
            outcome.unanswered += 1
            outcome.errors[type(exc).__name__] += 1
            continue
        outcome.latencies_ms.append((time.monotonic() - started) * 1000)
        outcome.statuses[response.status_code] += 1
        if response.status_code in (429, 503):
            if "retry-after" not in response.headers:
                outcome.missing_retry_after += 1
            try:
                outcome.problem_types[str(response.json().get("type"))] += 1
            except ValueError:
                outcome.problem_types["(not json)"] += 1


async def _prober(
    http: httpx.AsyncClient, paths: Sequence[str], stop_at: float, outcome: Outcome
) -> None:
    while time.monotonic() < stop_at:
        for path in paths:
            started = time.monotonic()
            try:
                response = await http.get(path)
                label = f"{path} {response.status_code}"
            except httpx.HTTPError as exc:
                label = f"{path} {type(exc).__name__}"
            elapsed = (time.monotonic() - started) * 1000
            outcome.probe_statuses[label] += 1
            outcome.probe_worst_ms[path] = max(outcome.probe_worst_ms.get(path, 0.0), elapsed)
        await asyncio.sleep(0.1)


async def _recovery(base: str, codes: Sequence[str], limit: float) -> float | None:
    """Seconds until a fresh cache miss is answered 200 again, after the burst."""
    started = time.monotonic()
    rng = random.Random(7)
    async with httpx.AsyncClient(base_url=base, timeout=2.0) as http:
        while time.monotonic() - started < limit:
            try:
                url = f"/countries/{codes[0]}/positions?as_of={random_as_of(rng)}"
                if (await http.get(url)).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    return None


async def burst(
    base: str,
    *,
    clients: int,
    seconds: float,
    codes: Sequence[str] = ("RS", "AT", "MT", "DE", "FR"),
    timeout: float = 30.0,
    cached_path: str = "/countries/RS/positions",
    seed: int = 1,
) -> Outcome:
    """Run the burst against `base`; bounded by `seconds` plus one client `timeout`."""
    outcome = Outcome()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits) as http:
        # Warm the cached URL first, so the probe checks that hits skip the queue.
        await http.get(cached_path)
        stop_at = time.monotonic() + seconds
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=base, timeout=timeout) as probe_http:
            await asyncio.gather(
                _prober(probe_http, ["/healthz", cached_path], stop_at, outcome),
                *(
                    _client(http, codes, stop_at, outcome, random.Random(seed * 1000 + i))
                    for i in range(clients)
                ),
            )
        outcome.seconds = time.monotonic() - started
    outcome.recovery_s = await _recovery(base, codes, limit=120.0)
    return outcome


WRK_SCRIPT = """-- generated by bench/burst.py: a fresh as_of per request; statuses counted
local codes = {%(codes)s}
local threads = {}
counts = {}
no_retry = 0
problems = 0

setup = function(thread)
  thread:set("seed", #threads + 1)
  table.insert(threads, thread)
end

init = function(args)
  math.randomseed(seed * 7919 + os.time())
end

request = function()
  local day = string.format("%%04d-%%02d-%%02d", math.random(1000, 2999),
    math.random(1, 12), math.random(1, 28))
  return wrk.format("GET", "/countries/" .. codes[math.random(#codes)] ..
    "/positions?as_of=" .. day)
end

response = function(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
  if status == 503 or status == 429 then
    if headers["retry-after"] == nil and headers["Retry-After"] == nil then
      no_retry = no_retry + 1
    end
    if not string.find(body, '"/problems/', 1, true) then
      problems = problems + 1
    end
  end
end

done = function(summary, latency, requests)
  local total = {}
  local missing, bad = 0, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("counts")) do
      total[status] = (total[status] or 0) + n
    end
    missing = missing + thread:get("no_retry")
    bad = bad + thread:get("problems")
  end
  local parts = {}
  for status, n in pairs(total) do
    table.insert(parts, string.format('"%%d": %%d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BURST-JSON {"statuses": {%%s}, "no_retry": %%d, "not_problem": %%d, ' ..
    '"errors": {"connect": %%d, "read": %%d, "write": %%d, "timeout": %%d}, ' ..
    '"duration_us": %%d, "p50_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    table.concat(parts, ", "), missing, bad, e.connect, e.read, e.write, e.timeout,
    summary.duration, latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def _probe_in_thread(
    base: str, paths: Sequence[str], stop: threading.Event, outcome: Outcome
) -> threading.Thread:
    def run() -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            while not stop.is_set():
                for path in paths:
                    started = time.monotonic()
                    try:
                        label = f"{path} {http.get(path).status_code}"
                    except httpx.HTTPError as exc:
                        label = f"{path} {type(exc).__name__}"
                    elapsed = (time.monotonic() - started) * 1000
                    outcome.probe_statuses[label] += 1
                    worst = outcome.probe_worst_ms.get(path, 0.0)
                    outcome.probe_worst_ms[path] = max(worst, elapsed)
                stop.wait(0.1)

    thread = threading.Thread(target=run, name="burst-probe", daemon=True)
    thread.start()
    return thread


def wrk_burst(
    base: str,
    *,
    wrk: str,
    clients: int,
    seconds: float,
    workdir: Path,
    codes: Sequence[str] = ("RS", "AT", "MT", "DE", "FR"),
    timeout: float = 30.0,
    cached_path: str = "/countries/RS/positions",
) -> Outcome:
    """The same burst from wrk (C, one connection per client), so the figures are the
    server's and not a Python client's: a Python client tops out at a few hundred requests
    a second on this machine and its latencies are mostly its own queueing."""
    script = workdir / "burst.lua"
    script.write_text(WRK_SCRIPT % {"codes": ", ".join(json.dumps(c) for c in codes)})
    outcome = Outcome()
    httpx.get(base + cached_path, timeout=timeout)
    stop = threading.Event()
    prober = _probe_in_thread(base, ["/healthz", cached_path], stop, outcome)
    argv = [wrk, f"-t{min(4, clients)}", f"-c{clients}", f"-d{max(1, round(seconds))}s"]
    argv += ["--timeout", f"{timeout:g}s", "-s", str(script), base]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
    finally:
        stop.set()
        prober.join()
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("BURST-JSON "))
    summary = json.loads(line.removeprefix("BURST-JSON "))
    outcome.statuses.update({int(k): v for k, v in summary["statuses"].items()})
    for kind, n in summary["errors"].items():
        if n:
            outcome.errors[kind] += n
            outcome.unanswered += n
    outcome.missing_retry_after = summary["no_retry"]
    if summary["not_problem"]:
        outcome.problem_types["(not a problem document)"] = summary["not_problem"]
    outcome.seconds = summary["duration_us"] / 1e6
    outcome.known_percentiles = {50: summary["p50_us"] / 1000, 99: summary["p99_us"] / 1000}
    outcome.latencies_ms = [summary["max_us"] / 1000]
    outcome.recovery_s = asyncio.run(_recovery(base, codes, limit=120.0))
    return outcome


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="server base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    outcome = asyncio.run(
        burst(args.base, clients=args.clients, seconds=args.seconds, timeout=args.timeout)
    )
    print(json.dumps(outcome.summary(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
