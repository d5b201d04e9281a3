"""Admission control: a bounded number of requests at work, a bounded queue, a deadline.

Without it a burst of cache misses stalls the process: every request takes a worker thread
and waits for a pooled connection held by requests that need a free thread to give it
back, so nothing finishes and even `/healthz` queues behind them (issue 10). Here at most
`max_concurrency` requests (fewer than the connection pool and the thread pool) run past
this layer at once; up to `max_queue` more wait in arrival order, each for at most half the
request deadline. Anything beyond is answered at once with a 503 `overloaded` problem and
`Retry-After`, so a client hears back within the deadline either way, and the process
recovers the moment the burst ends. A request admitted but not answered by the deadline
(a slow database) gets the same 503; its worker finishes in the background and keeps its
slot until then, so the bound holds.

The layer sits inside the response cache: cache hits never queue behind misses. Probes and
static files are not admitted here at all: `/healthz` must answer throughout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.middleware.security_headers import PROBLEM_HEADERS
from app.problems import problem_response

logger = logging.getLogger("app.middleware.admission")

OVERLOADED = "/problems/overloaded"
SHED_REPORT_INTERVAL = 10.0  # seconds between two "shedding load" log lines, at most
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/", "/docs", "/redoc", "/openapi.json"})
EXEMPT_PREFIXES = ("/static/", "/docs/assets/")
# Set in the request's state by a route whose work is long by design, once its caller is
# known to be allowed it (app.http.deps.without_deadlines): the deadline then lets it run.
UNBOUNDED_STATE = "cp.unbounded"


class Gate:
    """`limit` slots and a FIFO of at most `queue` waiters, on one event loop."""

    def __init__(self, *, limit: int, queue: int) -> None:
        self.limit = limit
        self.queue = queue
        self.in_use = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self.shed = 0

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def acquire(self, timeout: float) -> bool:
        """Take a slot, waiting at most `timeout` s in line; False if none came."""
        if self.in_use < self.limit and not self._waiters:
            self.in_use += 1
            return True
        if len(self._waiters) >= self.queue or timeout <= 0:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except (TimeoutError, asyncio.CancelledError) as exc:
            self._give_up(waiter)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return False
        return True

    def _give_up(self, waiter: asyncio.Future[None]) -> None:
        if waiter.done() and not waiter.cancelled():
            self.release()  # handed a slot just as we gave up: pass it on
        else:
            waiter.cancel()
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)

    def release(self) -> None:
        """Hand the slot to the longest waiter still waiting, or free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.in_use -= 1


class AdmissionMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_concurrency: int,
        max_queue: int,
        deadline: float,
        exempt: Callable[[Scope], Awaitable[bool]] | None = None,
        gate: Gate | None = None,
    ) -> None:
        """`exempt`: requests answered from memory (app.assessments.fast_lane), which need
        no slot: under a burst, slots are for work that waits on the database. `gate`: one
        made beforehand (so /metrics can read it), with the same limits."""
        self.app = app
        self.exempt = exempt
        self.gate = gate or Gate(limit=max_concurrency, queue=max_queue)
        self.deadline = deadline
        self.retry_after = str(max(1, math.ceil(deadline / 5)))
        self._reported_shed = 0
        self._reported_at = -math.inf

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or path in EXEMPT_PATHS
            or path.startswith(EXEMPT_PREFIXES)
            or (self.exempt is not None and await self.exempt(scope))
        ):
            await self.app(scope, receive, send)
            return
        arrived = time.monotonic()
        if not await self.gate.acquire(self.deadline / 2):
            self.gate.shed += 1
            self._report_shedding()
            await self._overloaded(scope, receive, send, "Too many requests are in progress.")
            return
        started = False
        abandoned = False

        async def guarded(message: Message) -> None:
            nonlocal started
            if abandoned:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        # Made here, so the route's notes (UNBOUNDED_STATE) land in the dict read below.
        state = scope.setdefault("state", {})
        task = asyncio.ensure_future(self.app(scope, receive, guarded))
        task.add_done_callback(lambda _: self.gate.release())
        remaining = self.deadline - (time.monotonic() - arrived)
        done, _ = await asyncio.wait({task}, timeout=max(remaining, 0.0))
        if done:
            task.result()  # re-raise what the app raised
            return
        if started or state.get(UNBOUNDED_STATE):
            # Already answering (e.g. a long export), or long by design: let it finish.
            await task
            return
        abandoned = True
        task.add_done_callback(_log_late_failure)
        logger.warning("request to %s not answered within %.1f s: 503", path, self.deadline)
        await self._overloaded(
            scope, receive, send, f"The request could not be answered within {self.deadline:g} s."
        )

    def _report_shedding(self) -> None:
        """One log line when shedding starts, then at most one every SHED_REPORT_INTERVAL:
        each 503 is in its request's line already, and a burst must not flood the log."""
        now = time.monotonic()
        if now - self._reported_at < SHED_REPORT_INTERVAL:
            return
        shed = self.gate.shed - self._reported_shed
        self._reported_shed, self._reported_at = self.gate.shed, now
        logger.warning(
            "shedding load: %d request(s) answered 503 overloaded since the last report",
            shed,
            extra={"event": "overload_shedding", "shed": shed, "waiting": self.gate.waiting},
        )

    async def _overloaded(self, scope: Scope, receive: Receive, send: Send, detail: str) -> None:
        response = problem_response(
            Request(scope),
            status=503,
            type_=OVERLOADED,
            title="Overloaded",
            detail=f"{detail} Retry after the number of seconds in Retry-After.",
            headers={"Retry-After": self.retry_after, **PROBLEM_HEADERS},
        )
        await response(scope, receive, send)


def _log_late_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("an abandoned request failed late: %r", task.exception())
