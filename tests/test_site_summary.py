"""The site index's summary line and plan filter, as a reader takes them: every hypothesis counts
under one state, so the states add up to the rows; two plans that share an id are told apart."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import TODAY, MakePlan
from test_site import _log

from mlplan._site import build_site

STATES = ("succeeded", "failed", "inconclusive", "running", "pending")


def _shown_summary(index: str) -> dict[str, int]:
    line = re.search(r'<p class="summary" id="summary">(.*?)</p>', index, re.S)
    assert line is not None
    text = " ".join(re.sub(r"<[^>]+>", " ", line.group(1)).split())
    return {name: int(n) for name, n in re.findall(r"([a-z]+(?: [a-z]+)*) (\d+)", text)}


def test_the_states_add_up_to_the_rows_and_a_hypothesis_without_results_is_pending(
    make_plan: MakePlan, tmp_path: Path
) -> None:
    _log(make_plan("a", plan_id="alpha"))  # H1 has results, H2 none
    make_plan("b", plan_id="beta")  # no results at all
    report = build_site([tmp_path], tmp_path / "site", today=TODAY)
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    rows = re.findall(r'<tr data-status="([a-z]+)"', index)
    assert len(rows) == 4
    assert sum(report.summary[state] for state in STATES) == len(rows)
    assert report.summary["pending"] == rows.count("pending") == 3
    shown = _shown_summary(index)
    assert all(shown[state] == report.summary[state] for state in STATES)


def test_two_plans_with_one_id_are_told_apart_in_the_filter_and_the_rows(
    make_plan: MakePlan, tmp_path: Path
) -> None:
    make_plan("a", plan_id="wine")
    make_plan("b", plan_id="wine")
    build_site([tmp_path], tmp_path / "site", today=TODAY)
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    options = re.findall(r'<option value="(wine[^"]*)">([^<]+)</option>', index)
    assert len(options) == 2
    assert len({value for value, _ in options}) == 2  # each filters its own rows
    assert len({label for _, label in options}) == 2 and all(
        "wine (" in text for _, text in options
    )
    for value, _ in options:
        assert len(re.findall(f'data-plan="{value}"', index)) == 2  # its two hypotheses
