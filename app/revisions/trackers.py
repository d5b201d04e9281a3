"""Know the dataset revision without asking the database on every request.

PostgreSQL: a listener thread holds one connection that `LISTEN`s on `cp_revision`; every
revision bump sends `pg_notify` in its own transaction, so every instance sharing the
database learns of a commit within milliseconds. SQLite: a stat of the database and WAL
files tells whether anything was committed since the revision was last read. Whenever a
tracker cannot vouch for its value it returns None, and callers take the slow, always-fresh
path instead.

A listener that only waits for notifications cannot tell a quiet database from a silent
one, so it sends a heartbeat (`SELECT 1`) every HEARTBEAT_INTERVAL seconds; one unanswered
for HEARTBEAT_TIMEOUT seconds gets its connection cut (app.db_deadline's watchdog), and the
tracker stops vouching until it has reconnected and re-read the revision: a silent
connection is noticed within HEARTBEAT_INTERVAL + HEARTBEAT_TIMEOUT + the watchdog's tick
(3.1 s).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from app.db import TCP_KEEPALIVES
from app.db_deadline import WATCHDOG
from app.revisions.models import REVISION_CHANNEL, current_revision

logger = logging.getLogger("app.revisions.trackers")

HEARTBEAT_INTERVAL = 1.0
HEARTBEAT_TIMEOUT = 2.0
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 4.0)  # then 4 s between attempts


class DatabaseRevision:
    """Reads the revision from the database on every call (`current`: in a worker thread).

    Kept here, not in app.revisions.models, so that the ORM module stays free of the web framework.
    """

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def read(self) -> int:
        with self.factory() as session:
            return current_revision(session)

    async def current(self) -> int:
        return await run_in_threadpool(self.read)


class RevisionTracker(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...
    async def current(self) -> int | None: ...
    def observe(self, revision: int) -> None: ...

    @property
    def known(self) -> int | None:
        """The latest revision seen, vouched for or not (None: none yet); for /metrics."""
        ...

    @property
    def listening(self) -> bool | None:
        """Whether the listener is connected (None: this tracker has none); for /metrics."""
        ...


def _switched(previous: int | None, revision: int) -> None:
    logger.info(
        "dataset revision %s -> %s",
        previous,
        revision,
        extra={"event": "revision_switch", "from_revision": previous, "revision": revision},
    )


class NoTracker:
    """Never vouches for a revision: every request takes the fresh path."""

    def start(self) -> None: ...
    def stop(self) -> None: ...

    async def current(self) -> int | None:
        return None

    def observe(self, revision: int) -> None: ...

    known = None
    listening = None


class FixedRevision:
    """Vouches for one revision forever: a release's, whose data never changes."""

    def __init__(self, revision: int) -> None:
        self.revision = revision

    def start(self) -> None: ...
    def stop(self) -> None: ...

    async def current(self) -> int | None:
        return self.revision

    def observe(self, revision: int) -> None: ...

    @property
    def known(self) -> int | None:
        return self.revision

    listening = None


class SqliteRevisionTracker:
    def __init__(self, path: str, read_revision: Callable[[], int]) -> None:
        self._files = (path, f"{path}-wal")
        self._read = read_revision
        self._signature: tuple[int, ...] | None = None
        self._revision = 0
        self._read_once = False
        self._pending: asyncio.Task[int] | None = None

    @property
    def known(self) -> int | None:
        return self._revision if self._read_once else None

    listening = None

    def start(self) -> None: ...
    def stop(self) -> None: ...

    def _stat(self) -> tuple[int, ...]:
        signature: list[int] = []
        for file in self._files:
            try:
                stat = os.stat(file)
            except FileNotFoundError:
                signature += [0, 0]
            else:
                signature += [stat.st_mtime_ns, stat.st_size]
        return tuple(signature)

    async def current(self) -> int | None:
        signature = self._stat()
        if signature == self._signature:
            return self._revision
        # One read at a time, shared by every request that arrives meanwhile: a burst on a
        # fresh signature once sent hundreds of reads at a 15-connection pool at once, and
        # the process stalled on pool timeouts (issue 10).
        loop = asyncio.get_running_loop()
        pending = self._pending
        if pending is None or pending.get_loop() is not loop or pending.done():
            pending = self._pending = loop.create_task(self._refresh(signature))
        try:
            return await asyncio.shield(pending)
        except Exception:
            return None

    async def _refresh(self, signature: tuple[int, ...]) -> int:
        # Stat first, then read: a commit in between only causes one more read later.
        revision = await run_in_threadpool(self._read)
        if revision != self._revision or not self._read_once:
            _switched(self._revision if self._read_once else None, revision)
        self._revision = revision
        self._read_once = True
        self._signature = signature
        return revision

    def observe(self, revision: int) -> None:
        self._signature = None  # re-read on the next request


class PostgresRevisionTracker:
    def __init__(self, database_url: str, read_revision: Callable[[], int]) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._conninfo = make_conninfo(url.render_as_string(hide_password=False), **TCP_KEEPALIVES)
        self._read = read_revision
        self._revision = 0
        self._healthy = False
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, wait: float = 3.0) -> None:
        """Start listening; wait (briefly) for the first connection so a fresh instance
        answers from its cache at once. If the database is down, serve on without it."""
        self._thread = threading.Thread(target=self._listen, name="revision-listener", daemon=True)
        self._thread.start()
        self._ready.wait(wait)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    async def current(self) -> int | None:
        return self._revision if self._healthy else None

    @property
    def known(self) -> int | None:
        return self._revision if self._ready.is_set() else None

    @property
    def listening(self) -> bool:
        return self._healthy

    def observe(self, revision: int) -> None:
        with self._lock:
            previous = self._revision
            self._revision = max(previous, revision)
        if self._revision != previous:
            _switched(previous, self._revision)

    def _listen(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
                    self._heartbeat(conn, "LISTEN " + REVISION_CHANNEL)
                    # Listening before reading: no commit can fall between the two.
                    self.observe(self._read())
                    self._healthy = True
                    self._ready.set()
                    if failures:
                        logger.info(
                            "revision listener is back: the cache is trusted again",
                            extra={"event": "listener_back"},
                        )
                    failures = 0
                    while not self._stopping.is_set():
                        # Notifications that arrive during the heartbeat wait in psycopg's
                        # backlog for the next notifies() call: none is lost.
                        for notify in conn.notifies(timeout=HEARTBEAT_INTERVAL):
                            if notify.payload.isdigit():
                                self.observe(int(notify.payload))
                        self._heartbeat(conn, "SELECT 1")
            except Exception as exc:
                if not self._stopping.is_set() and failures == 0:  # once per outage
                    logger.warning(
                        "revision listener lost its connection (%s): the cache is not "
                        "trusted until it is back",
                        exc.__class__.__name__,
                        extra={"event": "listener_lost"},
                    )
                failures += 1
            finally:
                self._healthy = False
            self._ready.set()  # never hold start-up hostage to an unreachable database
            self._stopping.wait(RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS)) - 1])

    @staticmethod
    def _heartbeat(conn: psycopg.Connection[Any], statement: str) -> None:
        """Run `statement`; a database silent for HEARTBEAT_TIMEOUT gets the socket cut."""
        token = WATCHDOG.arm(conn, time.monotonic() + HEARTBEAT_TIMEOUT)
        try:
            conn.execute(statement)
        finally:
            WATCHDOG.disarm(token)
