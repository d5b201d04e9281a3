"""/docs and /redoc in headless Chromium with the network cut off (issue 12).

Every request for anything but the test server is aborted and recorded; the pages must
still list every operation, and nothing may have been aborted. The browser reaches the
server as http://docs.test:PORT (mapped to 127.0.0.1): Swagger UI treats `localhost` and
`127.0.0.1` specially (it skips its online validator there), and a real deployment has a
real host name. Same tooling as tests/browser/test_chart_page.py: the Python `playwright`
package and Debian's /usr/bin/chromium; without them these tests skip, with
REQUIRE_BROWSER=1 (set by .ci/run) they fail.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

# Without playwright the `browser` fixture (tests/browser/conftest.py) skips, or with
# REQUIRE_BROWSER=1 fails, loudly.
with contextlib.suppress(ImportError):
    from playwright.sync_api import Browser, Page, Request, Route, expect

from tests.browser.conftest import DOCS_HOST as HOST
from tests.browser.conftest import screenshot

REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
# How long a UI may take to show what it loaded, or its search worker to answer, on a busy
# machine (Playwright's 5 s default is not always enough there).
RENDER_TIMEOUT_MS = 20_000
# Collects the page's Content-Security-Policy violations: a blocked load is also a failure.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
    window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@dataclass
class Offline:
    """A page that may reach only the test server, and what it tried to reach besides."""

    page: Page
    origin: str
    aborted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        violations: list[str] = self.page.evaluate("window.__cspViolations")
        return violations


@pytest.fixture
def offline(browser: Browser, live_server: str) -> Iterator[Offline]:
    port = urlsplit(live_server).port
    origin = f"http://{HOST}:{port}"
    context = browser.new_context(base_url=origin, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    state = Offline(page, origin)

    def only_the_server(route: Route, request: Request) -> None:
        if urlsplit(request.url).netloc == urlsplit(origin).netloc:
            route.continue_()
        else:
            state.aborted.append(request.url)
            route.abort("internetdisconnected")

    page.route("**/*", only_the_server)
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    page.on("pageerror", lambda error: state.errors.append(str(error)))
    try:
        yield state
    finally:
        context.close()


def _operations(live_server: str) -> list[dict[str, Any]]:
    schema = httpx.get(f"{live_server}/openapi.json").json()
    return [op for item in schema["paths"].values() for op in item.values()]


def test_swagger_ui_lists_every_operation_offline(
    offline: Offline, live_server: str, backend: str, tmp_path: Path
) -> None:
    operations = _operations(live_server)
    offline.page.goto("/docs")
    summaries = offline.page.locator("#swagger-ui .opblock-summary-description")
    expect(summaries).to_have_count(len(operations), timeout=RENDER_TIMEOUT_MS)
    assert sorted(summaries.all_inner_texts()) == sorted(op["summary"] for op in operations)
    expect(offline.page.locator("#swagger-ui .info .title")).to_contain_text("country-positions")

    # "Try it out" reaches the API itself: the whole chart, from the live server.
    chart = offline.page.locator("#operations-positions-listPositions")
    chart.locator(".opblock-summary").click()
    chart.get_by_role("button", name="Try it out").click()
    with offline.page.expect_response(lambda r: urlsplit(r.url).path == "/positions") as sent:
        chart.get_by_role("button", name="Execute").click()
    assert sent.value.status == 200
    # Rendering the whole chart's JSON takes Swagger UI a while on a busy machine.
    live_status = chart.locator(".live-responses-table tr.response .response-col_status")
    expect(live_status).to_have_text("200", timeout=RENDER_TIMEOUT_MS)
    screenshot(offline.page, tmp_path, f"docs-swagger-ui-{backend}.png")

    assert offline.aborted == []
    assert offline.csp_violations() == []
    assert offline.errors == []


def test_redoc_lists_every_operation_offline(
    offline: Offline, live_server: str, backend: str, tmp_path: Path
) -> None:
    operations = _operations(live_server)
    offline.page.goto("/redoc")
    sections = offline.page.locator("[data-section-id^='operation/']")
    expect(sections).to_have_count(len(operations), timeout=RENDER_TIMEOUT_MS)
    assert sorted(sections.evaluate_all("all => all.map(s => s.dataset.sectionId)")) == sorted(
        f"operation/{op['operationId']}" for op in operations
    )
    assert sorted(sections.locator("h2").all_inner_texts()) == sorted(
        op["summary"] for op in operations
    )
    expect(offline.page.get_by_role("heading", level=1)).to_contain_text("country-positions")
    # The search box is ReDoc's web worker at work: it must have started, from blob:.
    summary = next(op["summary"] for op in operations if op["operationId"] == "listPositions")
    offline.page.get_by_placeholder("Search...").fill(summary)
    expect(offline.page.locator("[data-role='search:results']")).to_contain_text(
        summary, timeout=RENDER_TIMEOUT_MS
    )
    # ReDoc 2 always asks its CDN for the logo beside "API docs by Redocly" and hides the
    # image when that fails. The policy refuses it before any request leaves the browser:
    # the one blocked load, and the page shows no broken image for it.
    expect(offline.page.get_by_role("link", name="API docs by Redocly")).to_be_visible()
    expect(offline.page.locator("img[alt='redocly logo']")).to_have_count(0)
    screenshot(offline.page, tmp_path, f"docs-redoc-{backend}.png")

    assert offline.aborted == []
    assert offline.csp_violations() == [f"img-src {REDOC_LOGO}"]
    assert offline.errors == []
