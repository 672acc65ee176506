"""`mlplan site` in a real browser, opened from disk: the three worked projects (run --quick)
and a generated portfolio of 50 plans, one of them carrying script-like text everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from browser.portfolio import XSS, make_portfolio
from helpers import REPO, TODAY

from mlplan._site import build_site

pytestmark = pytest.mark.browser

EXAMPLES = ("ridge", "lighttrack", "gcn_extractor")
PLANS = 50
HOSTILE = 7  # plan-007 carries XSS in its title, statements and a decision


def _run_example(name: str, out: Path) -> None:
    environment = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    script = REPO / "examples" / name / "run.py"
    command = [sys.executable, str(script), "--quick", "--out", str(out / name)]
    subprocess.run(
        [*command, "--today", TODAY.isoformat()], check=True, env=environment, capture_output=True
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(_run_example, name, root / "examples") for name in EXAMPLES]
        make_portfolio(
            root / "portfolio", PLANS, hypotheses=10, results=3, today=TODAY, hostile=HOSTILE
        )
        for run in runs:
            run.result()
    report = build_site([root / "examples", root / "portfolio"], root / "out", today=TODAY)
    assert report.problems == []
    assert len(report.rendered) == PLANS + len(EXAMPLES)
    return root / "out"


def _rows(site: Path) -> list[dict[str, Any]]:
    manifest = json.loads((site / "manifest.json").read_text(encoding="utf-8"))
    return [row for entry in manifest["plans"].values() for row in entry["rows"]]


def _open(driver: Any, page: Path) -> None:
    """Load ``page`` with the browser's log drained first, so _severe() reads this page's."""
    driver.get_log("browser")
    driver.get(page.as_uri())


_VISIBLE = "[...document.querySelectorAll('#hypotheses tbody tr')].filter(r => !r.hidden)"


def _visible(driver: Any) -> list[dict[str, str]]:
    """The rows shown, read in one call: their status, plan and text."""
    rows: list[dict[str, str]] = driver.execute_script(
        f"return {_VISIBLE}.map(r => ({{status: r.dataset.status, plan: r.dataset.plan, "
        "text: r.textContent}))"
    )
    return rows


def _severe(driver: Any) -> list[dict[str, Any]]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_the_index_loads_from_disk_with_every_hypothesis_and_no_console_error(
    chromium: Any, site: Path
) -> None:
    chromium.get_log("browser")  # drained: what earlier pages (other tests) printed
    chromium.get((site / "index.html").as_uri())
    assert _severe(chromium) == []
    assert len(_visible(chromium)) == len(_rows(site)) >= PLANS * 10
    assert chromium.find_element("id", "stamp").text.startswith(f"as of {TODAY}, store revision")
    shot = site.parent / "index.png"
    chromium.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


def test_filters_and_search_change_the_visible_rows(chromium: Any, site: Path) -> None:
    from selenium.webdriver.support.ui import Select

    rows = _rows(site)
    _open(chromium, site / "index.html")
    Select(chromium.find_element("id", "status-filter")).select_by_value("failed")
    shown = _visible(chromium)
    assert len(shown) == sum(r["status"] == "failed" for r in rows) > 0
    assert {row["status"] for row in shown} == {"failed"}
    plan = next(r["plan"] for r in rows if r["status"] == "failed")
    Select(chromium.find_element("id", "plan-filter")).select_by_value(plan)
    expected = [r for r in rows if r["status"] == "failed" and r["plan"] == plan]
    assert len(_visible(chromium)) == len(expected) > 0
    Select(chromium.find_element("id", "status-filter")).select_by_value("")
    Select(chromium.find_element("id", "plan-filter")).select_by_value("")
    search = chromium.find_element("id", "search")
    search.send_keys("ridge-boston")
    shown = _visible(chromium)
    assert len(shown) == sum(r["plan"] == "ridge-boston" for r in rows) > 0
    assert all("ridge-boston" in row["text"] for row in shown)
    assert chromium.find_element("id", "shown").text.startswith(f"{len(shown)} of {len(rows)}")


def _column(driver: Any, index: int) -> list[str]:
    values: list[str] = driver.execute_script(
        f"return {_VISIBLE}.map(r => r.cells[{index}].dataset.sort ?? r.cells[{index}].textContent)"
    )
    return values


def test_sorting_by_a_column_orders_the_rows_both_ways(chromium: Any, site: Path) -> None:
    _open(chromium, site / "index.html")
    runs = chromium.find_element("css selector", 'th button[data-column="5"]')
    runs.click()
    ascending = [int(v) for v in _column(chromium, 5)]
    assert ascending == sorted(ascending) and len(set(ascending)) > 1
    runs.click()
    assert [int(v) for v in _column(chromium, 5)] == sorted(ascending, reverse=True)
    header = chromium.find_elements("css selector", "#hypotheses th")[5]
    assert header.get_attribute("aria-sort") == "descending"
    chromium.find_element("css selector", 'th button[data-column="6"]').click()
    deadlines = _column(chromium, 6)
    assert deadlines == sorted(deadlines)


def _pages(site: Path) -> list[Path]:
    return [site / "index.html", *sorted((site / "plans").glob("*/index.html"))]


def test_every_link_resolves_and_every_image_has_a_size(chromium: Any, site: Path) -> None:
    for page in _pages(site):
        _open(chromium, page)
        assert _severe(chromium) == [], page
        links = chromium.execute_script("return [...document.links].map(a => a.href)")
        for link in links:
            parts = urllib.parse.urlsplit(link)
            assert parts.scheme == "file", link  # no server store here: every link is local
            target = Path(urllib.parse.unquote(parts.path))
            assert target.is_file(), f"{page}: {link}"
            if parts.fragment:
                assert f'id="{parts.fragment}"' in target.read_text(encoding="utf-8"), link
        sizes = chromium.execute_script(
            "return [...document.images]"
            ".map(i => [i.src, i.complete, i.naturalWidth, i.naturalHeight])"
        )
        for source, complete, width, height in sizes:
            assert complete and width > 0 and height > 0, f"{page}: {source}"


def test_the_decision_graph_has_drawn_nodes(chromium: Any, site: Path) -> None:
    _open(chromium, site / "plans" / "plan-001" / "graph.svg")
    boxes = chromium.execute_script(
        "return [...document.querySelectorAll('g.node rect')].map(r => r.getBBox().width)"
    )
    assert len(boxes) == 10 + 2  # ten hypotheses, and the ship and stop ends
    assert all(width > 0 for width in boxes)
    edges = chromium.execute_script("return document.querySelectorAll('path.edge').length")
    assert edges == 20  # each hypothesis: success and failure


def test_nothing_scrolls_sideways_on_a_phone(chromium: Any, site: Path) -> None:
    # A headless window is at least 500 px wide: a phone's 375 px is emulated instead.
    phone = {"width": 375, "height": 800, "deviceScaleFactor": 1, "mobile": True}
    chromium.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", phone)
    try:
        for page in [site / "index.html", site / "plans" / "ridge-boston" / "index.html"]:
            _open(chromium, page)
            inner = chromium.execute_script("return window.innerWidth")
            wide = chromium.execute_script("return document.documentElement.scrollWidth")
            assert inner == 375 and wide <= inner, page
        chromium.save_screenshot(str(site.parent / "phone.png"))
    finally:
        chromium.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_axe_finds_no_serious_or_critical_violation(
    chromium: Any, site: Path, axe_source: str
) -> None:
    for page in [site / "index.html", site / "plans" / "lighttrack-mobile-tracker" / "index.html"]:
        _open(chromium, page)
        chromium.execute_script(axe_source)
        result = chromium.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document).then(r => done("
            "r.violations.map(v => [v.id, v.impact, v.nodes.length])));"
        )
        serious = [v for v in result if v[1] in ("serious", "critical")]
        assert serious == [], page


def test_script_in_plan_text_stays_text(chromium: Any, site: Path) -> None:
    injected = "return [document.title, document.querySelectorAll('img[src=\"x\"]').length]"
    for page in [site / "index.html", site / "plans" / f"plan-{HOSTILE:03d}" / "index.html"]:
        _open(chromium, page)
        title, images = chromium.execute_script(injected)
        assert title != "pwned" and images == 0, page
        assert XSS in chromium.find_element("tag name", "body").text, page  # shown, as text
    _open(chromium, site / "index.html")
    chromium.find_element("id", "search").send_keys(XSS)
    title, images = chromium.execute_script(injected)
    assert title != "pwned" and images == 0
    assert len(_visible(chromium)) == 10  # the hostile plan's rows match their own text
