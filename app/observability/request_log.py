"""The request lines, written without the logging module, in batches.

One line per request through `logging` (a LogRecord, the handler's lock, a formatter, a
write and a flush) was most of what observability cost a cached read
(bench/observability.py). Here a request leaves a tuple of what its line says (`Entry`)
in a buffer; lines are formatted and written a batch at a time, in one write: every
CP_LOG_FLUSH_INTERVAL seconds (a thread), at once when MAX_BUFFERED requests wait, at
shutdown and at exit. Formatting a batch in one loop also costs a fraction of formatting
each line between requests, with the rest of the app in the processor's caches. A
terminal, or an interval of 0, gets each line as its request ends. Lines stay whole and in
order; a process killed outright loses at most one interval's. Application events stay on
`logging` (app.observability.logging), in the same two formats.

A line never holds a key: not the Authorization header, and key-like query parameters are
redacted (`redacted_query`). A text line never holds a client's control characters either:
the path is written percent-encoded, as the query is sent (issue 20: a decoded `%0a` wrote
whole fake request lines, a `%1b` terminal escapes); JSON escapes them itself.
"""

from __future__ import annotations

import atexit
import re
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from json.encoder import encode_basestring_ascii
from typing import Any, TextIO
from urllib.parse import quote

from app.observability.request_ids import RequestRecord

ACCESS_LOGGER = "app.access"
# What a request line holds after `time level logger message`, in this order.
REQUEST_FIELDS = (
    "request_id",
    "method",
    "route",
    "path",
    "query",
    "status",
    "duration_ms",
    "db_ms",
    "bytes",
    "cache",
    "revision",
    "client",
    "http_version",
    "api_key",
    "problem",
)
_QUOTES = '""'
MAX_BUFFERED = 256  # requests
# Query parameters whose values are never logged.
KEY_LIKE = re.compile(r"key|token|secret|passw|auth|signature|credential", re.IGNORECASE)

# The last millisecond formatted, with its text (and the last second's): tuples replaced
# whole, so threads never see one time's number with another's text.
_second: tuple[int, str] = (-1, "")
_milli: tuple[int, str] = (-1, "")


def iso_time(created: float) -> str:
    """`2026-12-01T23:40:00.123Z`: UTC, milliseconds (formatted once a millisecond)."""
    global _second, _milli
    milli = int(created * 1000)
    cached = _milli
    if cached[0] == milli:
        return cached[1]
    whole, fraction = divmod(milli, 1000)
    second = _second
    if second[0] != whole:
        second = _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    text = f"{second[1]}.{fraction:03d}Z"
    _milli = (milli, text)
    return text


def redacted_query(query: bytes) -> str:
    if not query:
        return ""
    text = query.decode("latin-1")
    if not KEY_LIKE.search(text):
        return text
    parts = []
    for part in text.split("&"):
        name, sep, _ = part.partition("=")
        parts.append(f"{name}=[redacted]" if sep and KEY_LIKE.search(name) else part)
    return "&".join(parts)


# What a text line keeps of a path as it is: RFC 3986 path characters, except `%` (a decoded
# `%` is written `%25`, so every `%` in a line starts an escape).
_PATH_SAFE = "/!$&'()*+,;=:@-._~"
# Bytes a query may carry that a text line must not: controls, space, `"`, non-ASCII.
_QUERY_UNSAFE = re.compile(r'[^\x21-\x7e]|"')


def loggable_path(path: str) -> str:
    """A decoded path as one printable token: `/a<newline>b` -> `/a%0Ab`."""
    return quote(path, safe=_PATH_SAFE)


def loggable_query(query: str) -> str:
    """A query (latin-1 text of its bytes) with what is not printable ASCII (and `"`)
    percent-encoded; what the client percent-encoded stays as it sent it."""
    if _QUERY_UNSAFE.search(query) is None:
        return query
    return _QUERY_UNSAFE.sub(lambda unsafe: f"%{ord(unsafe[0]):02X}", query)


def _json(value: Any) -> str:
    """A JSON scalar: str, int, None (what a request line holds)."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    if isinstance(value, bool | int | float):
        return "true" if value is True else "false" if value is False else repr(value)
    return encode_basestring_ascii(str(value))


# Parts of a line that repeat, encoded once: `"method": "GET", "route": "/countries/{code}/
# positions"` per method and route template, and `"cache": "hit", "revision": 3, "client":
# ..., "http_version": "1.1"` per combination (each bounded: cleared when it gets large).
_heads: dict[tuple[str, str], str] = {}
_tails: dict[tuple[Any, Any, Any, Any], str] = {}
_MAX_REMEMBERED = 4096

# What a request's line says: time (epoch seconds), request id, method, route template,
# path, raw query, status, seconds, database seconds, bytes sent, cache outcome, revision,
# client host, HTTP version, API key name, problem type.
Entry = tuple[
    float, str, str, str, str, bytes, int, float, float, int, Any, Any, Any, Any, Any, Any
]
Line = Callable[[Entry], str]


def entry(
    scope: Any, record: RequestRecord, route: str, status: int, sent: int, seconds: float
) -> Entry:
    state = scope.get("state") or {}
    client = scope.get("client")
    return (
        time.time(),
        record.request_id,
        scope["method"],
        route,
        scope["path"],
        scope.get("query_string", b""),
        status,
        seconds,
        record.db_seconds,
        sent,
        record.cache,
        state.get("cp.revision", state.get("cp.vouched")),
        client[0] if client else None,
        scope.get("http_version", "1.1"),
        record.api_key,
        record.problem,
    )


def json_line(entry: Entry) -> str:
    """One JSON object: time, level, logger, message, then the request's fields in
    REQUEST_FIELDS order (`api_key` and `problem` only when there are)."""
    (created, request_id, method, route, path, query, status, seconds, db_seconds, sent) = entry[
        :10
    ]
    head = _heads.get((method, route))
    if head is None:
        if len(_heads) >= _MAX_REMEMBERED:
            _heads.clear()
        head = _heads[method, route] = (
            f'"method": {encode_basestring_ascii(method)}, '
            f'"route": {encode_basestring_ascii(route)}'
        )
    key = entry[10:14]
    tail = _tails.get(key)
    if tail is None:
        if len(_tails) >= _MAX_REMEMBERED:
            _tails.clear()
        tail = _tails[key] = (
            f'"cache": {_json(key[0])}, "revision": {_json(key[1])}, '
            f'"client": {_json(key[2])}, "http_version": {_json(key[3])}'
        )
    # The request id is safe as it is (request_ids.VALID_REQUEST_ID, or hex).
    line = (
        f'{{"time": "{iso_time(created)}", "level": "INFO", "logger": "app.access", '
        f'"message": "request", "request_id": "{request_id}", {head}, '
        f'"path": {encode_basestring_ascii(path)}, '
        f'"query": {encode_basestring_ascii(redacted_query(query)) if query else _QUOTES}, '
        f'"status": {status}, "duration_ms": {round(seconds * 1000, 3)}, '
        f'"db_ms": {round(db_seconds * 1000, 3) if db_seconds else 0.0}, "bytes": {sent}, '
        f"{tail}"
    )
    api_key, problem = entry[14], entry[15]
    if api_key is not None:
        line += f', "api_key": {_json(api_key)}'
    if problem is not None:
        line += f', "problem": {_json(problem)}'
    return line + "}\n"


def text_line(entry: Entry) -> str:
    """`time INFO app.access client - "GET /path?query HTTP/1.1" 200 715B 0.4ms cache=hit
    route=/countries/{code}/positions [key=name] [request id]`: a classic access log line
    (bench/harness.py counts its statuses)."""
    (created, request_id, method, route, path, raw_query, status, seconds, _, sent, cache) = entry[
        :11
    ]
    client, http_version, api_key = entry[12], entry[13], entry[14]
    query = loggable_query(redacted_query(raw_query))
    line = (
        f"{iso_time(created)} INFO app.access {client or '-'} - "
        f'"{method} {loggable_path(path)}{"?" + query if query else ""} HTTP/{http_version}" '
        f"{status} {sent}B {round(seconds * 1000, 3)}ms cache={cache or '-'} route={route}"
    )
    if api_key is not None:
        line += f" key={api_key}"
    return f"{line} [{request_id}]\n"


_open: weakref.WeakSet[RequestLog] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    for log in list(_open):
        log.flush()


class RequestLog:
    """Request lines in `log_format`, to `stream` (None: sys.stderr as it is at each write,
    where `serve`'s logging writes too), batched unless `flush_interval` is 0 or the stream
    is a terminal."""

    def __init__(
        self,
        log_format: str,
        *,
        flush_interval: float,
        stream: TextIO | None = None,
        max_buffered: int = MAX_BUFFERED,
    ) -> None:
        self.line: Line = json_line if log_format == "json" else text_line
        self.stream = stream
        self.flush_interval = 0.0 if _is_terminal(stream or sys.stderr) else flush_interval
        self.max_buffered = max_buffered
        # A deque: appends and pops are atomic, so a request appends without a lock.
        self._entries: deque[Entry] = deque()
        self._lock = threading.Lock()  # starts the thread once
        self._writing = threading.Lock()  # one batch at a time, so batches stay in order
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        _open.add(self)

    def write(
        self, scope: Any, record: RequestRecord, route: str, status: int, sent: int, seconds: float
    ) -> None:
        """The line of a request that has ended (it is formatted with its batch)."""
        self.add(entry(scope, record, route, status, sent, seconds))

    def add(self, entry: Entry) -> None:
        entries = self._entries
        entries.append(entry)
        if len(entries) >= self.max_buffered or self.flush_interval <= 0:
            self.flush()
        elif self._thread is None:
            self._start()

    def flush(self) -> None:
        """Format and write every buffered line, in one write."""
        with self._writing:
            pending = self._entries
            if not pending:
                return
            popleft = pending.popleft
            entries = [popleft() for _ in range(len(pending))]
            stream = self.stream or sys.stderr
            if stream is None:  # interpreter shutting down without a stderr
                return
            line = self.line
            try:
                stream.write("".join([line(e) for e in entries]))
                stream.flush()
            except (OSError, ValueError):  # closed or gone: a log line never fails a request
                pass

    def close(self) -> None:
        """Stop the thread, write what is left; later lines are written at once."""
        self.flush_interval = 0.0
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)
        self.flush()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            self._thread = threading.Thread(target=self._run, name="request-log", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval):
            self.flush()


def _is_terminal(stream: TextIO | None) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):
        return False
