"""Prometheus metrics (prometheus-client), safe under `serve --workers N`.

With PROMETHEUS_MULTIPROC_DIR set (`serve --workers N` sets it before any worker starts, see
app.observability.multiproc), every worker writes its values to files there and `/metrics`,
in whichever worker answers it, adds them all up (prometheus_client.multiprocess). Without
it (one worker, tests, an app built in process) the values live in this process.

Per-request counts (requests, latency, cache hits and misses, shed and rate-limited) are
added up in plain Python first and handed to prometheus-client in batches: before every
scrape this worker answers and every COUNT_INTERVAL seconds, so another worker's may be
that late. Each prometheus-client increment takes a lock and writes an mmap (in
multiprocess mode); four of them per request cost a cached read about as much as its log
line did (bench/observability.py). Gauges describe state (pool, admission queue, cache size,
revision, listener): each worker writes its own values, read from that state before every
scrape and every GAUGE_INTERVAL seconds (so another worker's may be that old), and the
scrape sums them (`livesum`), or takes the largest revision (`max`) or the weakest listener
(`livemin`: 0 when any live worker has lost it).
"""

from __future__ import annotations

import os
import threading
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    values,
)

from app.observability.multiproc import MULTIPROC_ENV

GAUGE_INTERVAL = 1.0
COUNT_INTERVAL = 0.1
MAX_PENDING = 4096  # requests
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
SHED = "/problems/overloaded"
RATE_LIMITED = "/problems/rate-limited"
CONTENT_TYPE = CONTENT_TYPE_LATEST


def _use_storage(multiprocess_dir: str | None) -> None:
    """Make prometheus-client keep values where this process's exposition reads them.

    It chooses once, when first imported, from PROMETHEUS_MULTIPROC_DIR: if that import came
    before `serve` set the variable, values would stay in memory while `/metrics` summed the
    (empty) files (issue 20). The choice is made again here, explicitly, before any metric
    exists; an existing file-backed class is kept (a second one would open the same files
    twice).
    """
    in_files = getattr(values.ValueClass, "_multiprocess", False)
    if multiprocess_dir is not None and not in_files:
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]  # untyped upstream
    elif multiprocess_dir is None and in_files:
        values.ValueClass = values.MutexValue


@dataclass
class GaugeSources:
    """Where each gauge reads its value; None leaves a gauge out."""

    pool_in_use: Callable[[], float]
    pool_waiting: Callable[[], float]
    admission_in_use: Callable[[], float]
    admission_waiting: Callable[[], float]
    cache_entries: Callable[[], float]
    cache_bytes: Callable[[], float]
    revision: Callable[[], float | None]
    listener_connected: Callable[[], float] | None = None


class Metrics:
    """One app's metrics; `observe_request` is the per-request cost (a few additions)."""

    def __init__(self, *, listener: bool = False) -> None:
        """`listener`: the instance has a revision listener (PostgreSQL) to report on."""
        # `_created` series double every counter's size and say when a worker started.
        disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream
        self.multiprocess_dir = os.environ.get(MULTIPROC_ENV) or None
        _use_storage(self.multiprocess_dir)
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "cp_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "cp_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.cache_hits = Counter(
            "cp_response_cache_hits", "Reads answered from the response cache.", registry=r
        )
        self.cache_misses = Counter(
            "cp_response_cache_misses",
            "Cacheable reads the response cache did not hold.",
            registry=r,
        )
        self.cache_evictions = Counter(
            "cp_response_cache_evictions",
            "Entries dropped: `lru` to stay within CP_CACHE_MAX_*, `revision` on a data change.",
            ["reason"],
            registry=r,
        )
        self.shed = Counter(
            "cp_requests_shed",
            "Requests answered 503 overloaded by the admission gate (CP_MAX_CONCURRENCY).",
            registry=r,
        )
        self.rate_limited = Counter(
            "cp_requests_rate_limited",
            "Requests answered 429 by the rate limiter (CP_RATE_LIMIT_*).",
            registry=r,
        )

        def gauge(name: str, doc: str, mode: Literal["livesum", "max", "livemin"]) -> Gauge:
            return Gauge(name, doc, registry=r, multiprocess_mode=mode)

        self.pool_in_use = gauge(
            "cp_db_pool_in_use", "Database connections checked out of the pools.", "livesum"
        )
        self.pool_waiting = gauge(
            "cp_db_pool_waiting", "Threads waiting for a pooled database connection.", "livesum"
        )
        self.admission_in_use = gauge(
            "cp_admission_in_use", "Requests holding an admission slot.", "livesum"
        )
        self.admission_waiting = gauge(
            "cp_admission_waiting", "Requests queued for an admission slot.", "livesum"
        )
        self.cache_entries = gauge(
            "cp_response_cache_entries", "Responses held by the response cache.", "livesum"
        )
        self.cache_bytes = gauge(
            "cp_response_cache_bytes", "Bytes held by the response cache.", "livesum"
        )
        self.revision = gauge(
            "cp_dataset_revision", "The dataset revision the instance knows of.", "max"
        )
        self.listener = None
        if listener:
            self.listener = gauge(
                "cp_revision_listener_connected",
                "1 while the PostgreSQL revision listener is connected (0 if any worker lost it).",
                "livemin",
            )
        self.sources: GaugeSources | None = None
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        # What requests left for prometheus-client: (route, method, status, seconds, cache,
        # problem) each. A deque: a request appends without a lock; `flush` pops.
        self._pending: deque[tuple[str, str, int, float, str | None, str | None]] = deque()
        self._flushing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def observe_request(
        self,
        route: str,
        method: str,
        status: int,
        seconds: float,
        cache: str | None,
        problem: str | None,
    ) -> None:
        pending = self._pending
        pending.append((route, method, status, seconds, cache, problem))
        if len(pending) >= MAX_PENDING:  # no thread flushes (not multiprocess, or stopped)
            self.flush()

    def flush(self) -> None:
        """Hand what requests left since the last flush to prometheus-client, added up."""
        with self._flushing:
            pending = self._pending
            if not pending:
                return
            # Per (route, method, status): [requests, latency sum, one count per bucket,
            # the last one +Inf]; then hits, misses, shed, rate-limited.
            cells: dict[tuple[str, str, int], list[float]] = {}
            events = [0, 0, 0, 0]
            popleft = pending.popleft
            for _ in range(len(pending)):
                route, method, status, seconds, cache, problem = popleft()
                cell = cells.get((route, method, status))
                if cell is None:
                    cell = cells[route, method, status] = [0.0] * (3 + len(LATENCY_BUCKETS))
                cell[0] += 1
                cell[1] += seconds
                cell[2 + bisect_left(LATENCY_BUCKETS, seconds)] += 1  # first bound >= seconds
                if cache == "hit":
                    events[0] += 1
                elif cache == "miss":
                    events[1] += 1
                if problem == SHED:
                    events[2] += 1
                elif problem == RATE_LIMITED:
                    events[3] += 1
            for key, cell in cells.items():
                counter, histogram = self._children_of(key)
                counter.inc(cell[0])
                # Histogram has no public "observe these many"; its own observe() adds to
                # `_sum` and to one of `_buckets` (per bucket, not cumulative) just like this.
                # tests/observability/test_metrics.py checks the exposition it gives.
                histogram._sum.inc(cell[1])
                for index, count in enumerate(cell[2:]):
                    if count:
                        histogram._buckets[index].inc(count)
            for metric, count in zip(
                (self.cache_hits, self.cache_misses, self.shed, self.rate_limited),
                events,
                strict=True,
            ):
                if count:
                    metric.inc(count)

    def _children_of(self, key: tuple[str, str, int]) -> tuple[Counter, Histogram]:
        children = self._children.get(key)
        if children is None:
            route, method, status = key
            label = method if method in METHODS else "other"
            children = (
                self.requests.labels(route, label, str(status)),
                self.latency.labels(route, label),
            )
            self._children[key] = children
        return children

    def evicted(self, reason: str, count: int) -> None:
        self.cache_evictions.labels(reason).inc(count)

    def refresh(self) -> None:
        """Write this worker's gauges from the state they describe."""
        sources = self.sources
        if sources is None:
            return
        self.pool_in_use.set(sources.pool_in_use())
        self.pool_waiting.set(sources.pool_waiting())
        self.admission_in_use.set(sources.admission_in_use())
        self.admission_waiting.set(sources.admission_waiting())
        self.cache_entries.set(sources.cache_entries())
        self.cache_bytes.set(sources.cache_bytes())
        revision = sources.revision()
        if revision is not None:
            self.revision.set(revision)
        if sources.listener_connected is not None and self.listener is not None:
            self.listener.set(sources.listener_connected())

    def exposition(self) -> bytes:
        """The text format of every metric, summed over the workers in multiprocess mode."""
        self.flush()
        self.refresh()
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]  # untyped upstream
        return generate_latest(registry)

    def start(self) -> None:
        """In multiprocess mode, keep this worker's counts and gauges fresh for scrapes another
        worker answers."""
        if self.multiprocess_dir is None or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._refresh_loop, name="metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        self.flush()
        if self.multiprocess_dir is not None:
            # Drops this worker's live gauges; its counters stay in the sums.
            multiprocess.mark_process_dead(os.getpid(), self.multiprocess_dir)  # type: ignore[no-untyped-call]  # untyped upstream

    def _refresh_loop(self) -> None:
        refreshed = time.monotonic()
        while not self._stop.wait(COUNT_INTERVAL):
            try:
                self.flush()
                if time.monotonic() - refreshed >= GAUGE_INTERVAL:
                    refreshed = time.monotonic()
                    self.refresh()
            except Exception:  # a gauge source failing must not end the loop
                continue
