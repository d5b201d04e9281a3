"""Optimistic concurrency over HTTP: strong ETags from row versions, and If-Match checks."""

from __future__ import annotations

from fastapi import Request

from app.errors import PreconditionFailed, PreconditionRequired


def resource_etag(kind: str, ident: str | int, version: int) -> str:
    return f'"{kind}-{ident}-v{version}"'


def require_if_match(request: Request, current: str) -> None:
    """428 without If-Match; 412 unless it names the current ETag (strong comparison)."""
    header = request.headers.get("if-match")
    if not header:
        raise PreconditionRequired(
            f"Send `If-Match: {current}` (the ETag from a GET) to change this resource."
        )
    if header.strip() == "*":
        return
    if current not in (tag.strip() for tag in header.split(",")):
        raise PreconditionFailed(
            f"The resource changed since you read it; its ETag is now {current}. "
            "Re-read it and retry."
        )
