"""The certificate page in Debian's Chromium: no axe-core violation (WCAG 2.1 A/AA and best practice),
headings in order, nothing fetched from anywhere, no script, and it prints on one US letter page.

The page is rendered by the certificate's own template from a payload written here by hand (the
certificate's issuing and checking are tests/integration/test_certificate.py's)."""

from __future__ import annotations

import re

from autograde.config import Settings
from autograde.reporting.certificate import render
from tests.cohort_hub import chromium
from tests.e2e.test_browser import _require_browser
from tests.e2e.test_page import axe_all

PAYLOAD = {
    "kind": "hcwh certificate", "id": "0123456789abcdef", "course": "how-can-we-help", "learner": "ana.reyes",
    "name": "Ana Reyes", "issued_at": "2026-12-02T17:00:00+00:00",
    "modules": [{"module": f"0{n}-module", "standard": name, "version": f"{n}" * 64, "completed_on": "2026-11-18",
                 "acknowledged_on": "2026-11-19" if n != 3 else None, "acknowledged_way": "paper" if n == 2 else "self"}
                for n, name in enumerate(["General", "Authenticity", "Anticipation", "Engagement", "Consistency",
                                          "Accountability"])],
}
CODE = "HCWH1-0123456789abcdef-" + "A" * 86


def test_the_certificate_page_is_accessible_self_contained_and_prints_on_one_page(tmp_path):
    _require_browser()
    path = tmp_path / "certificate.html"
    path.write_text(render(Settings(state_dir=tmp_path), PAYLOAD, CODE), encoding="utf-8")
    html = path.read_text()
    assert "<script" not in html.lower()
    with chromium(tmp_path / "profile") as browser:
        page = browser.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())
        assert requests == [path.as_uri()]  # nothing else: no font, style or script from anywhere
        assert axe_all(page) == []
        assert page.locator("h1, h2").all_inner_texts() == ["Certificate of completion", "Check this certificate"]
        rows = page.locator("tbody tr").all_inner_texts()
        assert len(rows) == 6 and rows[1].split("\t") == ["01-module", "Authenticity", "1" * 12, "18 November 2026",
                                                          "19 November 2026"]
        assert rows[2].endswith("19 November 2026 (paper)") and rows[3].endswith("Not recorded")
        assert page.get_by_text(CODE).is_visible()
        page.emulate_media(media="print")
        assert axe_all(page) == []
        pdf = page.pdf(format="Letter", print_background=False)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
