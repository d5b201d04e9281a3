"""Cache-first reads: answer repeated GETs from memory before routing, per data revision.

A hit replays the exact status, headers and body the full stack produced for the same
request (same path, query, Accept, gzip or not, Origin), so content negotiation, CORS,
gzip and ETags are identical by construction; `If-None-Match` is answered with 304 here.
Entries belong to one dataset revision: when the tracker reports a new one, they all go.
The cache is bounded by entries and bytes (LRU), so a crawler walking every `as_of` date
cannot exhaust memory.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.middleware.http_cache import NO_STORE_PATHS, matches_etag, vouched_for
from app.observability.request_ids import record_of
from app.revisions.trackers import RevisionTracker

REVISION_STATE = "cp.revision"
_NOT_MODIFIED_HEADERS = {
    b"etag",
    b"cache-control",
    b"access-control-allow-origin",
    b"access-control-allow-credentials",
    b"access-control-expose-headers",
}

Key = tuple[bytes, bytes, str, bool, str]


@dataclass(frozen=True)
class Entry:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: str

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers) + 64


class BoundedCache:
    """LRU over (key -> entry) for one revision at a time, bounded by count and bytes."""

    def __init__(
        self,
        *,
        max_entries: int,
        max_bytes: int,
        on_evict: Callable[[str, int], None] | None = None,
    ) -> None:
        """`on_evict(reason, count)`: told of entries dropped, `lru` or `revision` (metrics)."""
        self.on_evict = on_evict
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        # One entry may take an eighth of the cache: a big export (many MB, streamed) is
        # neither buffered in full while it streams nor allowed to empty the cache.
        self.max_entry_bytes = max(max_bytes // 8, 1)
        self.revision: int | None = None
        self._entries: OrderedDict[Key, Entry] = OrderedDict()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def _switch(self, revision: int) -> None:
        if revision != self.revision:
            if self._entries and self.on_evict is not None:
                self.on_evict("revision", len(self._entries))
            self._entries.clear()
            self.bytes = 0
            self.revision = revision

    def get(self, revision: int, key: Key) -> Entry | None:
        self._switch(revision)
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, revision: int, key: Key, entry: Entry) -> None:
        self._switch(revision)
        if entry.size > self.max_entry_bytes:
            return
        previous = self._entries.pop(key, None)
        if previous is not None:
            self.bytes -= previous.size
        self._entries[key] = entry
        self.bytes += entry.size
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.bytes -= evicted.size
            if self.on_evict is not None:
                self.on_evict("lru", 1)


def _key(scope: Scope, headers: Headers) -> Key:
    return (
        scope["path"].encode(),
        scope.get("query_string", b""),
        headers.get("accept", ""),
        "gzip" in headers.get("accept-encoding", ""),
        headers.get("origin", ""),
    )


class ResponseCacheMiddleware:
    def __init__(
        self, app: ASGIApp, *, tracker: RevisionTracker, cache: BoundedCache, enabled: bool
    ) -> None:
        self.app = app
        self.tracker = tracker
        self.cache = cache
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # What the request's log line and metrics say of the cache: hit, miss or bypass.
        record = record_of(scope)
        if (
            not self.enabled
            or scope["method"] not in ("GET", "HEAD")
            or scope["path"] in NO_STORE_PATHS
        ):
            if record is not None:
                record.cache = "bypass"
            await self.app(scope, receive, send)
            return
        revision = await vouched_for(scope, self.tracker)
        if revision is None:
            if record is not None:
                record.cache = "bypass"
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = _key(scope, headers)
        entry = self.cache.get(revision, key)
        if record is not None:
            record.cache = "miss" if entry is None else "hit"
        if entry is not None:
            await self._replay(entry, headers, scope["method"] == "HEAD", send)
            return
        if scope["method"] == "HEAD" or "if-none-match" in headers:
            await self.app(scope, receive, send)  # nothing to capture: no body, or a 304
            return
        await self._fill(scope, receive, send, revision, key)

    async def _replay(self, entry: Entry, headers: Headers, head: bool, send: Send) -> None:
        if matches_etag(headers.get("if-none-match", ""), entry.etag):
            # Vary is added outside (app.middleware.vary), the same as on the 200.
            kept = [(k, v) for k, v in entry.headers if k in _NOT_MODIFIED_HEADERS]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        await send(
            {"type": "http.response.start", "status": entry.status, "headers": entry.headers}
        )
        await send({"type": "http.response.body", "body": b"" if head else entry.body})

    async def _fill(
        self, scope: Scope, receive: Receive, send: Send, revision: int, key: Key
    ) -> None:
        """Run the full stack; keep a copy of a cacheable 200 (one with an ETag)."""
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0
        cacheable = False
        state = scope.setdefault("state", {})

        async def capture(message: Message) -> None:
            nonlocal start, size, cacheable
            if message["type"] == "http.response.start":
                start = message
                cacheable = message["status"] == 200 and any(
                    k == b"etag" for k, _ in message.get("headers", [])
                )
            elif message["type"] == "http.response.body" and cacheable:
                body = message.get("body", b"")
                size += len(body)
                if size > self.cache.max_entry_bytes:
                    cacheable = False
                    chunks.clear()
                else:
                    chunks.append(body)
                # Store only what was rendered at the revision this entry is filed under
                # (a lagging read replica may have answered from an older one).
                done = not message.get("more_body", False)
                same_revision = state.get(REVISION_STATE, revision) == revision
                if done and cacheable and start is not None and same_revision:
                    response_headers = list(start.get("headers", []))
                    etag = dict(response_headers)[b"etag"].decode("latin-1")
                    self.cache.put(
                        revision, key, Entry(200, response_headers, b"".join(chunks), etag)
                    )
            await send(message)

        await self.app(scope, receive, capture)
