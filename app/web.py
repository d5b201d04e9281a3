"""The built-in chart page and its frameable embed: static HTML/CSS/JS over the public API."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"

router = APIRouter()


@router.get("/", include_in_schema=False)
def chart_page() -> HTMLResponse:
    # Not a FileResponse: the conditional-GET layer owns this page's ETag (code version).
    return HTMLResponse((STATIC_DIR / "index.html").read_text(encoding="utf-8"))


@router.get("/embed", include_in_schema=False)
def chart_embed() -> HTMLResponse:
    """One country (`?country=RS`) or the summary, for articles to frame (see
    app/middleware/security_headers.py: only this path may be framed by other sites)."""
    return HTMLResponse((STATIC_DIR / "embed.html").read_text(encoding="utf-8"))


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
