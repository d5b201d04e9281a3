"""Client-side deadlines on database round trips: a silent database never stalls a request.

A database that stops answering without closing the connection (packets dropped, a frozen
host, a partitioned network) leaves libpq waiting on its socket for good. TCP keepalives
and `tcp_user_timeout` (set in `app.db`) end such a wait only after seconds of silence, and
never when something in between still acknowledges the bytes (a userspace proxy, a stuck
pgbouncer). So every round trip on an API engine (statement, pool pre-ping, commit,
rollback) is armed on one watchdog thread; if it has not returned by its deadline, the
watchdog shuts the connection's socket down: the blocked thread gets an OperationalError
at once, the pool discards the connection, and the request is answered 503 like any other
lost connection. A new connection is bounded by `connect_timeout`, cut to what the request
has left.

Deadlines: a round trip ends by `CP_DB_DEADLINE` after its start, and within a request by
`CP_DB_DEADLINE` after the request's arrival (app.middleware.db_deadline) until its
response starts; after that (a streaming export) per round trip only. libpq counts connect
timeouts in whole seconds, at least 2: a connect is tried only with 1 s or more left, so it
may overrun the request's budget by less than a second.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from sqlalchemy.engine import Engine

# How often the watchdog looks at its deadlines: the slack every deadline has.
TICK = 0.1
# A connect with less time left than this is not tried (libpq's timeout is at least 2 s).
MIN_CONNECT_BUDGET = 1.0
NO_TIME_TO_CONNECT = "no time left to connect within the request's deadline"


class Budget:
    """When the database must have answered the current request (None: no request bound)."""

    __slots__ = ("end",)

    def __init__(self, end: float | None) -> None:
        self.end = end


# A mutable holder, set once per request: worker threads see the same object (contextvars
# are copied into the threadpool), so the end the middleware clears is the one they read.
_budget: ContextVar[Budget | None] = ContextVar("cp_db_budget", default=None)


def deadline(seconds: float) -> float:
    """The monotonic time by which a round trip starting now must end."""
    end = time.monotonic() + seconds
    budget = _budget.get()
    if budget is not None and budget.end is not None and budget.end < end:
        return budget.end
    return end


@contextlib.contextmanager
def request_budget(seconds: float) -> Iterator[Budget]:
    """Bound every round trip inside the block by `seconds` from now (a request's or a
    probe's budget); setting the yielded budget's `end` to None lifts the bound."""
    budget = Budget(time.monotonic() + seconds)
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


def lift_request_budget() -> None:
    """End the current request's budget (each round trip keeps its own deadline): for
    the one operation whose work is long by design (app.http.deps.without_deadlines)."""
    budget = _budget.get()
    if budget is not None:
        budget.end = None


def budget_left() -> float | None:
    """Seconds left in the current request's budget (None: no bound)."""
    budget = _budget.get()
    if budget is None or budget.end is None:
        return None
    return budget.end - time.monotonic()


def budget_spent(error: BaseException | None = None) -> bool:
    """Whether the current request's budget has run out (so a connection cut now was cut
    for taking too long, not lost), or `error` is the refusal to connect with too little
    of it left."""
    if error is not None and str(error).startswith(NO_TIME_TO_CONNECT):
        return True
    budget = _budget.get()
    return budget is not None and budget.end is not None and time.monotonic() >= budget.end


class Watchdog:
    """One thread for the whole process; arming a round trip is two dict operations.

    Entries are keyed by a fresh token, so a connection reused by the next round trip is
    never cut for the previous one's deadline; whichever of `disarm` and the watchdog pops
    an entry first owns it (dict.pop is atomic), so no lock is needed.
    """

    def __init__(self, tick: float = TICK) -> None:
        self.tick = tick
        self.cut = 0  # connections cut so far (for logs and tests)
        self._armed: dict[int, tuple[float, Any]] = {}
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def arm(self, connection: Any, end: float) -> int:
        """Cut `connection` (anything with `fileno()`) unless disarmed before `end`."""
        if self._thread is None:
            self._start()
        token = next(self._tokens)
        self._armed[token] = (end, connection)
        return token

    def disarm(self, token: int) -> None:
        self._armed.pop(token, None)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
                thread.start()
                self._thread = thread

    def _after_fork(self) -> None:
        self._armed.clear()
        self._thread = None
        self._start_lock = threading.Lock()

    def _run(self) -> None:
        while True:
            time.sleep(self.tick)
            now = time.monotonic()
            for token, (end, connection) in list(self._armed.items()):
                if end <= now and self._armed.pop(token, None) is not None:
                    self.cut += 1
                    _shut_down(connection)


def _shut_down(connection: Any) -> None:
    """Shut the connection's socket down under the thread blocked on it (whose poll wakes
    on the shutdown); the descriptor stays open for the driver to close as usual."""
    try:
        fd = connection.fileno()
        sock = socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM)  # a dup: closing it is safe
    except Exception:
        return  # already closed: nothing is waiting on it
    with sock, contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


WATCHDOG = Watchdog()
os.register_at_fork(after_in_child=WATCHDOG._after_fork)


def guard_engine(engine: Engine, seconds: float, watchdog: Watchdog = WATCHDOG) -> None:
    """Put every round trip of `engine` under the watchdog (see the module docstring).

    The dialect's own methods are wrapped, not engine events: pre-ping, commit and the
    pool's reset-on-return rollback fire no statement event, and wrapping keeps SQLAlchemy's
    event dispatch (and its cost) off the hot path.
    """
    dialect: Any = engine.dialect
    arm, disarm = watchdog.arm, watchdog.disarm

    def on_cursor(method: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(cursor: Any, *args: Any, **kwargs: Any) -> Any:
            token = arm(cursor.connection, deadline(seconds))
            try:
                return method(cursor, *args, **kwargs)
            finally:
                disarm(token)

        return guarded

    def on_connection(method: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(dbapi_connection: Any, *args: Any, **kwargs: Any) -> Any:
            token = arm(dbapi_connection, deadline(seconds))
            try:
                return method(dbapi_connection, *args, **kwargs)
            finally:
                disarm(token)

        return guarded

    for name in ("do_execute", "do_execute_no_params", "do_executemany"):
        setattr(dialect, name, on_cursor(getattr(dialect, name)))
    for name in ("do_ping", "do_commit", "do_rollback"):
        setattr(dialect, name, on_connection(getattr(dialect, name)))

    connect = dialect.connect
    operational_error = dialect.loaded_dbapi.OperationalError

    def bounded_connect(*cargs: Any, **cparams: Any) -> Any:
        left = deadline(seconds) - time.monotonic()
        if left < MIN_CONNECT_BUDGET:
            raise operational_error(NO_TIME_TO_CONNECT)
        configured = int(cparams.get("connect_timeout") or math.ceil(seconds))
        cparams["connect_timeout"] = max(2, min(configured, math.ceil(left)))
        return connect(*cargs, **cparams)

    dialect.connect = bounded_connect
