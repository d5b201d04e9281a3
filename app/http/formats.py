"""Content negotiation and streamed CSV / NDJSON renderings of list endpoints."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import StreamingResponse

from app.errors import NotAcceptable
from app.http.csv_safety import safe_row
from app.http.links import public_link


class Format(StrEnum):
    """Representations a list endpoint can serve."""

    json = "json"
    csv = "csv"
    ndjson = "ndjson"


MEDIA_TYPES: dict[Format, str] = {
    Format.json: "application/json",
    Format.csv: "text/csv",
    Format.ndjson: "application/x-ndjson",
}

CSV_MEDIA_TYPE = "text/csv; charset=utf-8; header=present"
CSVW_MEDIA_TYPE = "application/csvm+json"

FormatQuery = Annotated[
    str | None,
    Query(
        alias="format",
        max_length=20,
        # Not in the contract: each operation documents one media type and the exports are
        # operations of their own. Kept for curl and browsers; the descriptions say so.
        include_in_schema=False,
    ),
]


def _accept_ranges(header: str) -> list[tuple[str, float]]:
    ranges: list[tuple[str, float]] = []
    for part in header.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((media.lower(), quality))
    return sorted(ranges, key=lambda r: r[1], reverse=True)


def negotiate(request: Request, requested: str | None, offered: Sequence[Format]) -> Format:
    """Pick the representation: `format=` first, then `Accept`, JSON by default."""
    names = ", ".join(f.value for f in offered)
    if requested is not None:
        try:
            chosen = Format(requested.lower())
        except ValueError:
            chosen = None
        if chosen is None or chosen not in offered:
            raise NotAcceptable(f"format={requested!r} is not offered here; try one of {names}.")
        return chosen
    header = request.headers.get("accept", "").strip()
    if not header:
        return offered[0]
    ranges = _accept_ranges(header)
    refused = {media for media, quality in ranges if quality <= 0}
    for media, quality in ranges:
        if quality <= 0:
            continue
        if media in ("*/*", "application/*"):
            acceptable = [f for f in offered if MEDIA_TYPES[f] not in refused]
            if acceptable:
                return acceptable[0]
            continue
        if media == "text/*" and Format.csv in offered:
            return Format.csv
        for fmt in offered:
            if media == MEDIA_TYPES[fmt] or (fmt is Format.json and media.endswith("+json")):
                return fmt
    types = ", ".join(MEDIA_TYPES[f] for f in offered)
    raise NotAcceptable(f"None of the accepted media types is offered; this serves {types}.")


def describedby(request: Request, headers: dict[str, str], metadata_path: str) -> dict[str, str]:
    """`headers` with a `Link` to the CSV's CSVW metadata document (W3C CSV on the Web,
    §5.2) added to any pagination links: the same for every request of the export, so the
    response cache and ETags see one stable header."""
    link = f'<{public_link(request, metadata_path)}>; rel="describedby"; type="{CSVW_MEDIA_TYPE}"'
    existing = headers.get("Link")
    return {**headers, "Link": f"{existing}, {link}" if existing else link}


def stream_csv(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    filename: str,
    headers: dict[str, str] | None = None,
) -> StreamingResponse:
    """RFC 4180 CSV (CRLF, quoted as needed), UTF-8, one header row, streamed row by row;
    a cell a spreadsheet would run as a formula gets a leading `'` (app.http.csv_safety)."""

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(safe_row(header))
        for row in rows:
            writer.writerow(safe_row(row))
            if buffer.tell() > 16_384:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        lines(),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'inline; filename="{filename}"', **(headers or {})},
    )
