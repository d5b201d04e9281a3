"""Bounded exports (issue 10): CSV/NDJSON of a country's assessments stream from a cursor.

One export of a 150k-assessment country once peaked at 570 MB RSS, because every row was
loaded (as ORM objects, then Pydantic models) before the first byte went out. Exports now
read Core rows in batches from a server-side cursor, in a session that lives as long as
the stream. These tests hold the parts a user can see or the pool can count:

- the bytes are exactly those of the old rendering (ORM rows, `AssessmentRead`, the csv
  module and `model_dump_json`, reproduced below as the oracle) on the seeds plus one
  generated country of a few thousand awkward rows;
- the body really streams: while a slow reader holds the first bytes, the export still
  holds its pooled connection (the old code had closed its session before sending);
- a client that drops the connection mid-export gives the connection back, however often.

The app runs in a real uvicorn server in this process, so the tests can read its pool.
Memory is measured by bench/scale.py (`--only exports`), never asserted here.
"""

from __future__ import annotations

import csv
import io
import random
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.assessments.models import Assessment
from app.assessments.schemas import AssessmentRead
from app.db import make_engine, make_sessionmaker
from app.main import create_app
from app.settings import Settings
from tests.faults.tcp_proxy import tcp_proxy
from tests.servers import free_port

BIG = "RS"  # a seeded country, grown by BIG_ROWS generated assessments
BIG_ROWS = 3000
# A country whose NDJSON export (~8 MB) outgrows what loopback socket buffers absorb, so a
# client that stops reading really holds the stream up (see `test_an_export_streams...`).
HUGE = "HU"
HUGE_ROWS = 30_000
COLUMNS = [
    "id",
    "country_code",
    "category",
    "value",
    "source_id",
    "reported_via_id",
    "as_of",
    "evidence",
    "note",
    "source_retracted_at",  # empty here: no source of these rows is retracted
]
BOUND = 20.0  # the most any loop below waits for the server (seconds)
# Texts that exercise CSV quoting and JSON escaping.
AWKWARD = [
    "plain",
    'says "no", then "yes"',
    "line one\nline two",
    "carriage\r\nreturn",
    "comma, semicolon; tab\tend",
    "unicode: Србија, naïve, ✓, 😀",
    "control \x01\x1f and backslash \\ and slash /",
    " leading and trailing space ",
    "",
]


# --------------------------------------------------------------------------- the oracle


def old_rows(session: Session, code: str, limit: int | None, offset: int) -> list[AssessmentRead]:
    """The rows as the old route read them: ORM entities, then one Pydantic model each."""
    query = (
        select(Assessment)
        .where(Assessment.country_code == code, Assessment.retracted_at.is_(None))
        .order_by(Assessment.as_of.desc(), Assessment.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [AssessmentRead.model_validate(a) for a in session.scalars(query).all()]


def old_csv(items: list[AssessmentRead]) -> bytes:
    """The old `stream_csv` body (its 16 KiB chunking does not change the bytes)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for item in items:
        writer.writerow(["" if v is None else v for v in (getattr(item, c) for c in COLUMNS)])
    return buffer.getvalue().encode()


def old_ndjson(items: list[AssessmentRead]) -> bytes:
    return "".join(item.model_dump_json() + "\n" for item in items).encode()


# --------------------------------------------------------------------------- the server


@dataclass
class Served:
    app: FastAPI
    base: str
    port: int
    settings: Settings

    def checked_out(self) -> int:
        return int(self.app.state.read_engine.pool.checkedout())

    def wait_released(self) -> int:
        """Poll (bounded) until no pooled connection is checked out; return what is left."""
        deadline = time.monotonic() + BOUND
        while self.checked_out() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.checked_out()


def grow_country(settings: Settings, code: str, rows: int) -> None:
    """`rows` assessments for `code`, inserted directly: awkward texts, shared dates (so the
    id breaks ties), missing and present `reported_via_id`/`note`, a few retracted."""
    engine = make_engine(settings)
    rng = random.Random(10)
    try:
        with make_sessionmaker(engine)() as session, session.begin():
            sources = sorted(session.scalars(select(Assessment.source_id).distinct()).all())
            records = []
            for i in range(rows):
                # Unique on (country, category, source, as_of); rows of one step share a
                # date, so the id breaks the tie.
                step, slot = divmod(i, 4 * len(sources))
                category = ("training", "lethal_aid", "future_capability", "future_will")[slot % 4]
                source = sources[slot // 4]
                as_of = date(2010, 1, 1) + timedelta(days=step)
                records.append(
                    {
                        "country_code": code,
                        "category_key": category,
                        "value": rng.choice(["yes", "no", "decreasing"]),
                        "source_id": source,
                        "reported_via_id": rng.choice([None, sources[0]]),
                        "as_of": as_of,
                        "evidence": f"{rng.choice(AWKWARD)} #{i}",
                        "note": rng.choice([None, *AWKWARD]),
                        "retracted_at": None if i % 97 else datetime(2024, 1, 1, tzinfo=UTC),
                    }
                )
            session.execute(insert(Assessment), records)
    finally:
        engine.dispose()


@contextmanager
def serve(settings: Settings) -> Iterator[Served]:
    """The app in a uvicorn thread of this process (so a test can read its pool)."""
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + BOUND
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield Served(app, f"http://127.0.0.1:{port}", port, settings)
    finally:
        server.should_exit = True
        thread.join(BOUND)


@pytest.fixture
def served(seeded_settings: Settings) -> Iterator[Served]:
    """The app on a seeded database plus one big country."""
    grow_country(seeded_settings, BIG, BIG_ROWS)
    with serve(seeded_settings) as running:
        yield running


def expected(
    served: Served, code: str, limit: int | None = None, offset: int = 0
) -> list[AssessmentRead]:
    engine = make_engine(served.settings)
    try:
        with make_sessionmaker(engine)() as session:
            return old_rows(session, code, limit, offset)
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- the tests


def test_exports_are_byte_identical_to_the_old_rendering(served: Served) -> None:
    with httpx.Client(base_url=served.base, timeout=BOUND) as client:
        countries = client.get("/countries", params={"limit": 500}).json()["items"]
        codes = [c["code"] for c in countries]
        assert BIG in codes
        cases: list[tuple[str, int | None, int]] = [(code, None, 0) for code in codes]
        cases += [(BIG, 500, 0), (BIG, 37, 1234), (BIG, 10, 10**6)]
        for code, limit, offset in cases:
            items = expected(served, code, limit, offset)
            params: dict[str, str | int] = {"offset": offset} if offset else {}
            if limit is not None:
                params["limit"] = limit
            total = len(expected(served, code))
            got = client.get(f"/countries/{code}/assessments", params={**params, "format": "csv"})
            assert got.status_code == 200, got.text
            assert got.headers["content-type"] == "text/csv; charset=utf-8; header=present"
            assert got.headers["content-disposition"] == (
                f'inline; filename="assessments-{code}.csv"'
            )
            assert got.headers["x-total-count"] == str(total)
            assert got.content == old_csv(items), (code, limit, offset)
            got = client.get(
                f"/countries/{code}/assessments",
                params=params,
                headers={"Accept": "application/x-ndjson"},
            )
            assert got.status_code == 200, got.text
            assert got.headers["content-type"] == "application/x-ndjson"
            assert got.headers["x-total-count"] == str(total)
            assert got.content == old_ndjson(items), (code, limit, offset)
        big = client.get(f"/countries/{BIG}/assessments?format=csv")
        rows = list(csv.reader(io.StringIO(big.text, newline="")))
        assert len(rows) == 1 + int(big.headers["x-total-count"]) > BIG_ROWS * 0.9


# --------------------------------------------------------------------------- raw sockets


def open_export(served: Served, code: str = BIG, query: str = "format=csv") -> socket.socket:
    """A GET of the export from a client with a tiny receive buffer, which reads nothing
    yet: the server can run ahead by its socket and transport buffers only (~100 KB)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(BOUND)
    sock.connect(("127.0.0.1", served.port))
    sock.sendall(
        f"GET /countries/{code}/assessments?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Accept-Encoding: identity\r\nConnection: close\r\n\r\n".encode()
    )
    return sock


def read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """The status line and headers, and whatever body bytes came with them."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed before the headers: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def read_to_end(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def dechunk(raw: bytes) -> tuple[bytes, int, bool]:
    """(body, number of chunks, whether the terminating chunk came) of a chunked body."""
    body, chunks = b"", 0
    while raw:
        size_line, _, raw = raw.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return body, chunks, True
        body, raw, chunks = body + raw[:size], raw[size + 2 :], chunks + 1
    return body, chunks, False


def abort(sock: socket.socket) -> None:
    """Close with a reset, as a client that gives up does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_an_export_streams_from_a_connection_held_while_it_is_sent(served: Served) -> None:
    """While a client that stopped reading holds an export up, its session is still
    open: rows are read as the body is sent (the old code read every row and closed its
    session before sending a byte). The body then arrives in many chunks, complete and
    identical, and the connection is back in the pool."""
    grow_country(served.settings, HUGE, HUGE_ROWS)
    sock = open_export(served, HUGE, "format=ndjson")
    try:
        head, first = read_head(sock)
        assert head.startswith(b"HTTP/1.1 200"), head
        assert b"transfer-encoding: chunked" in head.lower()
        # Buffers fill up within moments; from then on, every sample sees the connection.
        samples = []
        for _ in range(20):
            samples.append(served.checked_out())
            time.sleep(0.05)
        assert min(samples[10:]) >= 1, samples
        body, chunks, complete = dechunk(first + read_to_end(sock))
    finally:
        sock.close()
    assert complete
    assert chunks > 10  # one per batch of 1000 rows, not one body
    assert body == old_ndjson(expected(served, HUGE))
    assert served.wait_released() == 0


def test_clients_that_drop_an_export_mid_way_give_its_connection_back(served: Served) -> None:
    """More aborted exports than the pool has connections, in rounds of four at once; the
    pool ends with none checked out, and the next export and page are whole."""
    pool = served.app.state.read_engine.pool
    capacity = pool.size() + getattr(pool, "_max_overflow", 0)
    rounds = capacity // 4 + 2
    for _ in range(rounds):
        socks = [open_export(served, query=q) for q in ("format=csv", "format=ndjson") * 2]
        for sock in socks:
            head, _ = read_head(sock)  # the export started: its session is open
            assert head.startswith(b"HTTP/1.1 200"), head
        for sock in socks:
            abort(sock)
        assert served.wait_released() == 0
    with httpx.Client(base_url=served.base, timeout=BOUND) as client:
        export = client.get(f"/countries/{BIG}/assessments?format=ndjson")
        assert export.content == old_ndjson(expected(served, BIG))
        page = client.get(f"/countries/{BIG}/assessments")
        assert page.status_code == 200
        assert len(page.json()["items"]) == 50
    assert served.wait_released() == 0


@pytest.mark.postgres_only
def test_a_database_gone_silent_mid_export_ends_the_stream(seeded_settings: Settings) -> None:
    """Every fetch of a streamed export is armed on the watchdog (app.db_deadline), which
    the request's deadline no longer covers once the response started: a database that
    goes silent mid-export ends the body (no terminating chunk) instead of hanging, the
    connection is discarded, and exports work again once the database answers."""
    grow_country(seeded_settings, BIG, BIG_ROWS)
    url = make_url(seeded_settings.database_url)
    with tcp_proxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        settings = seeded_settings.model_copy(
            update={"database_url": proxied, "db_deadline": 2.0, "cache_enabled": False}
        )
        with serve(settings) as served:
            want = old_csv(expected(served, BIG))
            sock = open_export(served)
            try:
                head, first = read_head(sock)
                assert head.startswith(b"HTTP/1.1 200"), head
                proxy.freeze()
                sock.settimeout(BOUND)  # a hang fails here, long after the 2 s deadline
                body, _, complete = dechunk(first + read_to_end(sock))
            finally:
                sock.close()
            assert not complete
            assert want.startswith(body)
            proxy.thaw()
            assert served.wait_released() == 0
            with httpx.Client(base_url=served.base, timeout=BOUND) as client:
                again = client.get(f"/countries/{BIG}/assessments?format=csv")
            assert again.status_code == 200
            assert again.content == want
