"""The built-in chart page (`GET /`), driven in headless Chromium against a real server.

Needs the Python `playwright` package and Debian's `chromium` at /usr/bin/chromium (never a
browser downloaded by `playwright install`). Without them these tests skip; with
REQUIRE_BROWSER=1 (set by .ci/run) they fail instead. Screenshots land in pytest's
`tmp_path` and in `test-output/` (gitignored) for a human to look at.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.settings import Settings
from tests.factories import CHART, GRAD
from tests.servers import ROOT, running_server

try:
    from playwright.sync_api import Browser, Locator, Page, Route, expect, sync_playwright
    from playwright.sync_api import Error as PlaywrightError

    PLAYWRIGHT_MISSING = ""
except ImportError as exc:  # pragma: no cover - depends on the environment
    PLAYWRIGHT_MISSING = f"the Python package `playwright` is not importable ({exc})"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OUTPUT = ROOT / "test-output"
CELLS = "button[data-category]"


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests cannot run: {reason} (REQUIRE_BROWSER=1)")
    pytest.skip(
        f"browser tests skipped: {reason}. Install with `apt-get install -y chromium` and "
        "`pip install playwright` (never `playwright install`)."
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, shared by this module's tests.

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


def _new_page(browser: Browser, base: str, errors: list[str], width: int, height: int) -> Page:
    context = browser.new_context(base_url=base, viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page


@pytest.fixture
def page(browser: Browser, live_server: str, page_errors: list[str]) -> Iterator[Page]:
    """A desktop-sized page on the live server."""
    desktop = _new_page(browser, live_server, page_errors, 1280, 900)
    try:
        yield desktop
    finally:
        desktop.context.close()


def _open_chart(page: Page) -> None:
    page.goto("/")
    expect(page.locator("#status")).to_contain_text("Showing")


def _row(page: Page, code: str) -> Locator:
    return page.locator(f'#positions-table tbody tr[data-country="{code}"]')


def _row_codes(page: Page) -> list[str]:
    codes: list[str] = page.locator("#positions-table tbody tr[data-country]").evaluate_all(
        "rows => rows.map(row => row.dataset.country)"
    )
    return codes


def _screenshot(page: Page, tmp_path: Path, name: str, *, full_page: bool = True) -> None:
    """Save the same screenshot in tmp_path and in test-output/ (gitignored)."""
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=tmp_path / name, full_page=full_page)
    page.screenshot(path=OUTPUT / name, full_page=full_page)


def test_chart_page_shows_positions_in_text_with_provenance(
    page: Page, page_errors: list[str], live_server: str, backend: str, tmp_path: Path
) -> None:
    categories = httpx.get(f"{live_server}/categories").json()
    sources = {s["id"]: s for s in httpx.get(f"{live_server}/sources").json()}
    _open_chart(page)

    table = page.locator("#positions-table")
    expect(table.locator("caption")).to_contain_text("2 March 2023")
    expect(table.locator('thead th[scope="col"]')).to_have_text(
        ["Government", *(c["label"] for c in categories)]
    )
    for category in categories:
        header = table.locator(f'thead th[data-category="{category["key"]}"] [title]')
        expect(header).to_have_attribute("title", category["definition"])
    expect(page.locator("#caveat")).to_contain_text(
        "Europe | Response to Ongoing Russia-Ukraine Conflict"
    )
    expect(page.locator("#caveat")).to_contain_text("not been independently verified")
    expect(page.locator(".legend")).to_contain_text("not the same as No")

    serbia = _row(page, "RS")
    expect(serbia.locator('th[scope="row"]')).to_contain_text("Serbia")
    serbia_cells = serbia.locator(CELLS)
    expect(serbia_cells).to_have_text([re.compile(r"\bNo\b"), *[re.compile(r"\bYes\b")] * 3])
    assert [serbia_cells.nth(i).get_attribute("data-category") for i in range(4)] == [
        c["key"] for c in categories
    ]
    assert [serbia_cells.nth(i).get_attribute("data-value") for i in range(4)] == [
        "no",
        "yes",
        "yes",
        "yes",
    ]

    germany_cells = _row(page, "DE").locator(CELLS)
    expect(germany_cells).to_have_text([re.compile(r"unknown", re.IGNORECASE)] * 4)
    expect(germany_cells.first).to_have_attribute("data-value", "unknown")
    # "unknown" must not look like "no": compare what is painted, not just the text.
    paint = "b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).borderStyle]"
    austria_no = _row(page, "AT").locator('button[data-category="training"]')
    expect(austria_no).to_have_text(re.compile(r"\bNo\b"))
    assert germany_cells.first.evaluate(paint) != austria_no.evaluate(paint)
    _screenshot(page, tmp_path, f"chart-page-{backend}.png")

    lethal_aid = serbia.locator('button[data-category="lethal_aid"]')
    lethal_aid.click()
    provenance = page.locator("#provenance")
    expect(provenance).to_be_visible()
    expect(provenance).to_contain_text("Serbia")
    for source_id in (CHART, GRAD):
        expect(provenance).to_contain_text(source_id)
        expect(provenance).to_contain_text(sources[source_id]["title"])
    expect(provenance).to_contain_text(sources["insight-news-how-serbia-let-putin-down"]["title"])
    expect(provenance).to_contain_text("2022-11-30")
    expect(provenance).to_contain_text("unverified")
    _screenshot(page, tmp_path, f"chart-page-{backend}-provenance.png", full_page=False)

    page.keyboard.press("Escape")
    expect(provenance).to_be_hidden()
    expect(lethal_aid).to_be_focused()
    assert page_errors == []


def test_chart_page_cells_work_from_the_keyboard(page: Page, page_errors: list[str]) -> None:
    _open_chart(page)
    training = _row(page, "MT").locator('button[data-category="training"]')
    training.focus()
    page.keyboard.press("Enter")
    provenance = page.locator("#provenance")
    expect(provenance).to_be_visible()
    expect(provenance).to_contain_text("Malta")
    expect(provenance).to_contain_text(CHART)
    page.keyboard.press("Escape")
    expect(provenance).to_be_hidden()
    expect(training).to_be_focused()

    unknown = _row(page, "DE").locator('button[data-category="future_will"]')
    unknown.focus()
    page.keyboard.press(" ")
    expect(provenance).to_be_visible()
    expect(provenance).to_contain_text("not the same as No")
    page.locator("#provenance-close").click()
    expect(provenance).to_be_hidden()
    assert page_errors == []


def test_chart_page_filters_and_links_the_csv_of_the_view(
    page: Page, page_errors: list[str], live_server: str
) -> None:
    _open_chart(page)
    expect(page.locator("#positions-table tbody tr[data-country]")).to_have_count(
        httpx.get(f"{live_server}/positions", params={"limit": 1}).json()["total"]
    )

    page.select_option("#filter-category", "training")
    page.select_option("#filter-value", "no")
    expect(page.locator("#status")).to_contain_text("Showing 3 governments")
    assert _row_codes(page) == ["AT", "MT", "RS"]

    href = page.locator("#download-csv").get_attribute("href")
    assert href is not None
    url = urlsplit(href)
    assert url.path == "/positions"
    assert parse_qs(url.query) == {"format": ["csv"], "category": ["training"], "value": ["no"]}
    download = httpx.get(live_server + href)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "Serbia" in download.text and "Germany" not in download.text

    # The view is in the page URL: reloading keeps it.
    assert parse_qs(urlsplit(page.url).query) == {"category": ["training"], "value": ["no"]}
    page.reload()
    expect(page.locator("#status")).to_contain_text("Showing 3 governments")
    expect(page.locator("#filter-value")).to_have_value("no")

    page.select_option("#filter-value", "")
    page.select_option("#filter-category", "")
    page.select_option("#filter-source", GRAD)
    expect(page.locator("#status")).to_contain_text("Grad")
    expect(_row(page, "RS").locator(CELLS)).to_have_text(
        [re.compile("unknown", re.IGNORECASE), re.compile(r"\bYes\b")]
        + [re.compile("unknown", re.IGNORECASE)] * 2
    )
    expect(_row(page, "AT").locator('button[data-category="training"]')).to_have_attribute(
        "data-value", "unknown"
    )

    page.select_option("#filter-source", "")
    page.fill("#filter-as-of", "2023-01-01")
    expect(page.locator("#status")).to_contain_text("as of 2023-01-01")
    expect(_row(page, "RS").locator('button[data-category="training"]')).to_have_attribute(
        "data-value", "unknown"
    )
    expect(_row(page, "RS").locator('button[data-category="lethal_aid"]')).to_have_attribute(
        "data-value", "yes"
    )
    href = page.locator("#download-csv").get_attribute("href")
    assert href is not None
    assert parse_qs(urlsplit(href).query) == {"format": ["csv"], "as_of": ["2023-01-01"]}
    assert page_errors == []


def test_chart_page_is_readable_at_375px(
    browser: Browser, live_server: str, page_errors: list[str], backend: str, tmp_path: Path
) -> None:
    phone = _new_page(browser, live_server, page_errors, 375, 812)
    try:
        _open_chart(phone)
        # The table scrolls inside its own box; the page itself never scrolls sideways.
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        serbia = _row(phone, "RS")
        serbia.scroll_into_view_if_needed()
        expect(serbia.locator('th[scope="row"]')).to_be_in_viewport()
        expect(serbia.locator('button[data-category="training"]')).to_be_in_viewport()
        _screenshot(phone, tmp_path, f"chart-page-{backend}-375.png", full_page=False)
        serbia.locator('button[data-category="lethal_aid"]').click()
        expect(phone.locator("#provenance")).to_be_in_viewport()
        _screenshot(phone, tmp_path, f"chart-page-{backend}-375-provenance.png", full_page=False)
    finally:
        phone.context.close()
    assert page_errors == []


def test_chart_page_shows_the_problem_detail_of_an_api_error(
    page: Page, page_errors: list[str], live_server: str
) -> None:
    problem = httpx.get(f"{live_server}/positions", params={"source": "no-such-source"})
    assert problem.headers["content-type"] == "application/problem+json"

    def answer_with_problem(route: Route) -> None:
        route.fulfill(
            status=problem.status_code,
            headers={"content-type": problem.headers["content-type"]},
            body=problem.content,
        )

    page.route("**/positions?*", answer_with_problem)
    page.goto("/")
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_contain_text(problem.json()["detail"])
    expect(page.locator("#status")).to_have_text("Positions could not be loaded.")
    assert page_errors == []


def test_chart_page_renders_api_text_as_text_never_as_html(
    page: Page, page_errors: list[str], live_server: str
) -> None:
    hostile = '<img src=x onerror="window.injected=1">'
    body = httpx.get(f"{live_server}/positions", params={"limit": 500}).json()
    for item in body["items"]:
        if item["country"]["code"] == "RS":
            item["country"]["name"] = f"Serbia {hostile}"
            item["positions"][1]["assessments"][0]["evidence"] = hostile

    def answer_with_hostile_text(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route("**/positions?*", answer_with_hostile_text)
    _open_chart(page)
    serbia = _row(page, "RS")
    expect(serbia.locator('th[scope="row"]')).to_contain_text(hostile)
    serbia.locator('button[data-category="lethal_aid"]').click()
    expect(page.locator("#provenance")).to_contain_text(hostile)
    assert page.locator("img").count() == 0
    assert page.evaluate("window.injected") is None
    assert page_errors == []


def test_chart_page_marks_disputed_cells_in_text(
    page: Page, page_errors: list[str], live_server: str
) -> None:
    # The seeds hold no disputed position, so mark one in the API's own answer.
    body = httpx.get(f"{live_server}/positions", params={"limit": 500}).json()
    serbia = next(item for item in body["items"] if item["country"]["code"] == "RS")
    serbia["positions"][1]["disputed"] = True

    def answer_with_dispute(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route("**/positions?*", answer_with_dispute)
    _open_chart(page)
    cell = _row(page, "RS").locator('button[data-category="lethal_aid"]')
    expect(cell).to_have_text(re.compile(r"\bYes\b.*\bdisputed\b", re.IGNORECASE))
    expect(cell).to_have_attribute("data-disputed", "true")
    expect(_row(page, "RS").locator('button[data-category="training"]')).not_to_contain_text(
        "disputed"
    )
    cell.click()
    expect(page.locator("#provenance")).to_contain_text("the latest assessments of different")
    assert page_errors == []


def test_closing_the_dialog_leaves_focus_where_it_has_moved_since(
    page: Page, page_errors: list[str]
) -> None:
    """The dialog's "close" event is a task queued after it closes. Regression: its handler
    put focus back on the cell that opened the dialog even when focus had moved on in the
    meantime, so a quick Space on another cell reopened the first one (a CI flake)."""
    _open_chart(page)
    _row(page, "MT").locator('button[data-category="training"]').click()
    expect(page.locator("#provenance")).to_be_visible()
    page.evaluate(
        """() => new Promise((resolve) => {
            const dialog = document.querySelector("#provenance");
            dialog.addEventListener("close", () => setTimeout(resolve, 0), { once: true });
            dialog.close();
            document
                .querySelector('tr[data-country="DE"] button[data-category="future_will"]')
                .focus();
        })"""
    )
    expect(_row(page, "DE").locator('button[data-category="future_will"]')).to_be_focused()
    assert page_errors == []
