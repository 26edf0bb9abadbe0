"""The trainers' report page in Debian's Chromium: it opens from the file alone (nothing fetched),
axe-core finds no violation (WCAG 2.0/2.1 A and AA, best practices), each chart has a text
equivalent and every table a caption, and it prints."""

from __future__ import annotations

from datetime import datetime, timezone

from autograde.record.audit import Head
from autograde.reporting import insight
from tests import insight_cohort as tiny
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, _require_browser
from tests.e2e.test_page import axe_all


def test_the_trainers_page_is_offline_accessible_and_prints(tmp_path):
    _require_browser()
    from playwright.sync_api import sync_playwright

    built = insight.build([tiny.module()], tiny.LEARNERS, tiny.GRADES, tiny.ANSWERS)
    files = insight.write_files(tmp_path / "trainer-reports", built, datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc),
                                "UTC", Head(0, ""))
    url = files.html.as_uri()
    fetched: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, env={
            "XDG_CONFIG_HOME": str(tmp_path / "browser" / "config"),
            "XDG_CACHE_HOME": str(tmp_path / "browser" / "cache"), "HOME": str(tmp_path / "browser")})
        try:
            page = browser.new_page()

            def offline(route):
                if route.request.url != url:
                    fetched.append(route.request.url)
                    return route.abort()
                return route.continue_()

            page.route("**/*", offline)
            page.goto(url)
            assert page.locator("h1").inner_text().startswith("Customer Service Framework training")
            svgs = page.locator("svg[role=img]")
            assert svgs.count() >= 2  # the items' chart and one per role-play
            for n in range(svgs.count()):
                assert (svgs.nth(n).locator("title").first.text_content() or "").strip()
            tables = page.locator("table")
            assert tables.count() >= 5
            for n in range(tables.count()):
                assert tables.nth(n).locator("caption").inner_text().strip()
            assert "47.1% (3 ex.)" in (page.locator("#chart-items-t").locator("xpath=..").text_content() or "")
            found = axe_all(page)
            assert not found, "axe-core found:\n" + "\n".join(found)
            pdf = page.pdf()
            assert pdf[:4] == b"%PDF" and len(pdf) > 10_000
        finally:
            browser.close()
    assert not fetched, fetched
