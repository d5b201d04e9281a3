"""The built-in chart page and its frameable embed: static HTML/CSS/JS over the public API."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Scope

from app.http.deps import read_in_thread
from app.releases.jsonld import PLACEHOLDER, script_tag
from app.releases.service import latest_release

STATIC_DIR = Path(__file__).resolve().parent / "static"
# What /static serves: the pages' scripts and stylesheets, never a page (see AssetFiles).
ASSET_SUFFIXES = frozenset({".js", ".css"})

router = APIRouter()


@router.get("/", include_in_schema=False)
async def chart_page(request: Request) -> HTMLResponse:
    """The page, its `<head>` describing the dataset and its latest release (JSON-LD).

    Not a FileResponse: the conditional-GET layer owns the ETag, which follows the dataset
    revision (a new release bumps it) like every data read.
    """
    release = await read_in_thread(request, latest_release)
    settings = request.app.state.settings
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return HTMLResponse(page.replace(PLACEHOLDER, script_tag(settings.public_url or "", release)))


@router.get("/embed", include_in_schema=False)
def chart_embed() -> HTMLResponse:
    """One country (`?country=RS`) or the summary, for articles to frame (see
    app/middleware/security_headers.py: only this path may be framed by other sites)."""
    return HTMLResponse((STATIC_DIR / "embed.html").read_text(encoding="utf-8"))


class AssetFiles(StaticFiles):
    """The files under app/static with an ASSET_SUFFIXES suffix; anything else is a 404.

    The pages' HTML lives there too, but is served only by the routes above, `/` and
    `/embed`, with their Content-Security-Policy (app.middleware.security_headers). Served
    as `/static/index.html` it had none, so any site could frame it (issue 20).
    """

    async def get_response(self, path: str, scope: Scope) -> Response:
        if os.path.splitext(path)[1].lower() not in ASSET_SUFFIXES:
            raise HTTPException(status_code=404)
        return await super().get_response(path, scope)


def mount_static(app: FastAPI) -> None:
    app.mount("/static", AssetFiles(directory=STATIC_DIR), name="static")
