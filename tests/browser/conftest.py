"""Headless Chromium for the browser tests, and a live server for it to load.

Needs the Python `playwright` package and Debian's `chromium` at /usr/bin/chromium (never a
browser downloaded by `playwright install`). Without them the tests skip; with
REQUIRE_BROWSER=1 (set by .ci/run) they fail instead. Screenshots land in pytest's
`tmp_path` and in `test-output/` (gitignored) for a human to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from app.settings import Settings
from tests.servers import ROOT, running_server

try:
    from playwright.sync_api import Browser, Page, sync_playwright
    from playwright.sync_api import Error as PlaywrightError

    PLAYWRIGHT_MISSING = ""
except ImportError as exc:  # pragma: no cover - depends on the environment
    PLAYWRIGHT_MISSING = f"the Python package `playwright` is not importable ({exc})"

CHROMIUM = Path("/usr/bin/chromium")
# A real host name for the server (test_docs_offline.py): Swagger UI treats localhost and
# 127.0.0.1 specially, and a deployment has a name. Only this name is mapped.
DOCS_HOST = "docs.test"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    f"--host-resolver-rules=MAP {DOCS_HOST} 127.0.0.1",
]
OUTPUT = ROOT / "test-output"


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests cannot run: {reason} (REQUIRE_BROWSER=1)")
    pytest.skip(
        f"browser tests skipped: {reason}. Install with `apt-get install -y chromium` and "
        "`pip install playwright` (never `playwright install`)."
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, shared by one module's tests.

    Module scope, not session: Playwright's sync API keeps an asyncio loop running in the
    main thread while it lives, and later tests that call asyncio.run() would fail.
    """
    if PLAYWRIGHT_MISSING:
        _unavailable(PLAYWRIGHT_MISSING)
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"{CHROMIUM} is missing")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except PlaywrightError as error:
            _unavailable(f"{CHROMIUM} did not start: {error.message}")
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def live_server(seeded_settings: Settings) -> Iterator[str]:
    """`python -m app serve` on a free port over the seeded database; its base URL."""
    with running_server(seeded_settings.database_url) as base:
        yield base


@pytest.fixture
def page_errors() -> list[str]:
    """Uncaught JavaScript errors of the page under test."""
    return []


def new_page(browser: Browser, base: str, errors: list[str], width: int, height: int) -> Page:
    """A page in a fresh context of the given viewport, recording uncaught errors."""
    context = browser.new_context(base_url=base, viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page


@pytest.fixture
def page(browser: Browser, live_server: str, page_errors: list[str]) -> Iterator[Page]:
    """A desktop-sized page (1400 px wide) on the live server."""
    desktop = new_page(browser, live_server, page_errors, 1400, 900)
    try:
        yield desktop
    finally:
        desktop.context.close()


def screenshot(page: Page, tmp_path: Path, name: str, *, full_page: bool = True) -> None:
    """Save the same screenshot in tmp_path and in test-output/ (gitignored)."""
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=tmp_path / name, full_page=full_page)
    page.screenshot(path=OUTPUT / name, full_page=full_page)
