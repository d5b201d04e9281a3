"""/docs (Swagger UI), /docs/oauth2-redirect and /redoc, built by FastAPI's own helpers
but pointed at the vendored files, so the pages work with no network at all."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.staticfiles import PathLike
from starlette.types import Scope

from app.docs_ui.assets import REDOC, SWAGGER_UI, VENDOR_DIR, vendored
from app.middleware.security_headers import docs_csp

# FastAPI's own URLs for these pages, kept.
SWAGGER_UI_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
REDOC_URL = "/redoc"
# FastAPI's bootstrap scripts are the only <script> elements without attributes.
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

router = APIRouter(include_in_schema=False)


class _VendorFiles(StaticFiles):
    """StaticFiles that serves the extensionless licence files (LICENSE, NOTICE) as text."""

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        if not Path(full_path).suffix:
            response.headers["Content-Type"] = "text/plain; charset=utf-8"
        return response


def install_docs_ui(app: FastAPI) -> None:
    """The docs pages, and each vendored package's folder under its versioned path.

    Build the app with `docs_url=None, redoc_url=None`, or FastAPI's CDN pages answer first.
    """
    app.include_router(router)
    for package in vendored().values():
        app.mount(
            package.path,
            _VendorFiles(directory=VENDOR_DIR / package.directory),
            name=f"docs-assets-{package.name}",
        )


def _root_path(request: Request) -> str:
    # As FastAPI's own docs routes do: behind a path prefix every URL carries it.
    return str(request.scope.get("root_path", "")).rstrip("/")


def _with_policy(page: HTMLResponse, *, redoc: bool = False) -> HTMLResponse:
    """The docs policy, allowing exactly this page's inline scripts by their hash."""
    body = bytes(page.body).decode("utf-8")
    hashes = [
        "sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        for script in _INLINE_SCRIPT.findall(body)
    ]
    policy = docs_csp(hashes, inline_styles=redoc, blob_workers=redoc)
    page.headers["Content-Security-Policy"] = policy
    return page


@router.get(SWAGGER_UI_URL)
def swagger_ui(request: Request) -> HTMLResponse:
    app = request.app
    root = _root_path(request)
    swagger = vendored()[SWAGGER_UI]
    return _with_policy(
        get_swagger_ui_html(
            openapi_url=root + app.openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=swagger.url("swagger-ui-bundle.js", root),
            swagger_css_url=swagger.url("swagger-ui.css", root),
            swagger_favicon_url=swagger.url("favicon-32x32.png", root),
            oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )
    )


@router.get(OAUTH2_REDIRECT_URL)
def swagger_ui_oauth2_redirect() -> HTMLResponse:
    return _with_policy(get_swagger_ui_oauth2_redirect_html())


@router.get(REDOC_URL)
def redoc(request: Request) -> HTMLResponse:
    app = request.app
    root = _root_path(request)
    return _with_policy(
        get_redoc_html(
            openapi_url=root + app.openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=vendored()[REDOC].url("redoc.standalone.js", root),
            redoc_favicon_url=vendored()[SWAGGER_UI].url("favicon-32x32.png", root),
            with_google_fonts=False,
        ),
        redoc=True,
    )
