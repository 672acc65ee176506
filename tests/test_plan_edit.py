"""Splicing an entry into a plan: only the new lines appear; every other byte stays put."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from pathlib import Path

import pytest
import yaml
from helpers import TODAY, cli

import mlplan
from mlplan._api.decisions import record_decision
from mlplan._plan.text_edit import PlanText, append_to_list

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(ROOT.glob("examples/*/plan.yaml"))
ENTRY = {
    "date": dt.date(2026, 11, 30),
    "hypothesis": "H1",
    "decision": "Stop: the gain is within noise, λ ≈ 7 is not trustworthy",
    "verdict": {"status": "failed", "n": 3, "interval": [0.01, 0.07]},
}
BOM = b"\xef\xbb\xbf"


def variants(raw: bytes) -> dict[str, bytes]:
    return {"lf": raw, "crlf": raw.replace(b"\n", b"\r\n"), "bom": BOM + raw}


def only_added_lines(old: bytes, new: bytes) -> list[bytes]:
    """The lines of ``new`` that are not in ``old``, given that ``old`` is ``new`` with one
    run of whole lines removed; fails if anything else differs."""
    before, after = old.splitlines(keepends=True), new.splitlines(keepends=True)
    start = 0
    while start < len(before) and before[start] == after[start]:
        start += 1
    end = 0
    while end < len(before) - start and before[-1 - end] == after[-1 - end]:
        end += 1
    assert start + end == len(before), "lines of the old file changed"
    return after[start : len(after) - end]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
@pytest.mark.parametrize("variant", ["lf", "crlf", "bom"])
@pytest.mark.parametrize("section", ["decisions", "amendments"])
def test_example_plans_gain_only_the_new_lines(example: Path, variant: str, section: str) -> None:
    old = variants(example.read_bytes())[variant]
    new = append_to_list(PlanText.decode(old), ("experiment_log", section), ENTRY).encode()

    added = only_added_lines(old, new)
    assert len(added) >= 4
    newline = b"\r\n" if variant == "crlf" else b"\n"
    assert all(line.endswith(newline) for line in added)
    assert new.startswith(BOM) == (variant == "bom")
    data = yaml.safe_load(new.decode("utf-8-sig"))
    assert data["experiment_log"][section][-1] == ENTRY
    expected = yaml.safe_load(old.decode("utf-8-sig"))
    expected["experiment_log"].setdefault(section, []).append(ENTRY)
    assert data == expected


def splice(text: str) -> str:
    return append_to_list(
        PlanText.decode(text.encode()), ("experiment_log", "decisions"), ENTRY
    ).text


@pytest.mark.parametrize(
    ("text", "kept_before", "kept_after"),
    [
        # no experiment_log at all: a new section after the last content, before end comments
        ("a: 1\nb:\n    c: 2  # note\n# the end\n", "a: 1\nb:\n    c: 2  # note\n", "# the end\n"),
        # empty flow lists become a block list; a comment on the key's line stays there
        (
            "experiment_log:\n  entries: []\n  decisions: []   # none yet\nz: 3\n",
            "experiment_log:\n  entries: []\n  decisions:   # none yet\n",
            "z: 3\n",
        ),
        # a flow-style log stays flow style
        (
            "experiment_log: {entries: [], decisions: []}\n",
            "experiment_log: {entries: [], decisions: [",
            "]}\n",
        ),
        # a block list written flush with its key keeps that style
        (
            "experiment_log:\n  decisions:\n  - {date: 2026-01-01, hypothesis: H0, decision: x}\n"
            "  entries: []\n",
            "experiment_log:\n  decisions:\n  - {date: 2026-01-01, hypothesis: H0, decision: x}\n",
            "  entries: []\n",
        ),
        # a log without the list gains the key, in the file's indentation
        (
            "experiment_log:\n   entries:\n      - {date: 2026-01-01, text: hi}\n\n# c\nz: 1\n",
            "experiment_log:\n   entries:\n      - {date: 2026-01-01, text: hi}\n",
            "\n# c\nz: 1\n",
        ),
        # a file whose last line has no line break
        ("a: 1", "a: 1\n", ""),
    ],
)
def test_the_entry_lands_where_the_structure_says(
    text: str, kept_before: str, kept_after: str
) -> None:
    new = splice(text)
    assert new.startswith(kept_before)
    assert new.endswith(kept_after)
    assert yaml.safe_load(new)["experiment_log"]["decisions"][-1] == ENTRY


def test_block_entries_follow_the_files_indentation() -> None:
    new = splice("a:\n    b: 1\nexperiment_log:\n    decisions:\n        - {date: 2026-01-01}\n")
    assert "\n        - date: 2026-11-30\n          hypothesis: H1\n" in new


def test_a_list_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(mlplan.MlplanError, match="not a list"):
        splice("experiment_log:\n  decisions: nothing\n")


# ---------------------------------------------------------------------------- decide, no store


@pytest.fixture
def ridge(tmp_path: Path) -> Path:
    folder = tmp_path / "ridge"
    folder.mkdir()
    return Path(shutil.copy(ROOT / "examples/ridge/plan.yaml", folder / "plan.yaml"))


def test_decide_appends_the_decision_and_its_verdict(ridge: Path) -> None:
    old = ridge.read_bytes()
    ridge.chmod(0o644)
    day = TODAY.isoformat()  # a decision is dated no later than today
    assert cli("decide", ridge, "H3", "--decision", "Go on with OLS.", "--date", day) == 0

    added = b"".join(only_added_lines(old, ridge.read_bytes())).decode()
    assert "decision: Go on with OLS." in added
    decision = mlplan.load_plan(ridge).plan.experiment_log.decisions[-1]
    assert (decision.hypothesis, decision.date) == ("H3", TODAY)
    assert decision.verdict is not None
    # No store, no runs; and the plan's own log closed H3, so its deadline no longer counts.
    assert (decision.verdict.status, decision.verdict.n) == ("pending", 0)
    assert ridge.stat().st_mode & 0o777 == 0o644
    assert not (ridge.parent / ".mlplan" / "mlflow.db").exists()  # reading made no store


def test_decide_refuses_an_unknown_hypothesis(
    ridge: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = ridge.read_bytes()
    assert cli("decide", ridge, "H9", "--decision", "x") == 1
    assert "no hypothesis 'H9'" in capsys.readouterr().err
    assert ridge.read_bytes() == old


def test_decide_writes_through_a_symlink_to_its_target(ridge: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.yaml"
    link.symlink_to(ridge)
    assert cli("decide", link, "H1", "--decision", "Done.") == 0
    assert link.is_symlink()
    assert mlplan.load_plan(ridge).plan.experiment_log.decisions[-1].decision == "Done."


def test_decide_refuses_a_bad_date(ridge: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("decide", ridge, "H1", "--decision", "x", "--date", "30/11/2026") == 2  # usage
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_concurrent_decisions_are_all_kept(ridge: Path) -> None:
    errors: list[BaseException] = []

    def decide(index: int) -> None:
        try:
            record_decision(ridge, "H1", f"decision {index}")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    texts = [d.decision for d in mlplan.load_plan(ridge).plan.experiment_log.decisions]
    assert sorted(t for t in texts if t.startswith("decision ")) == [
        f"decision {i}" for i in range(6)
    ]


def test_a_new_blank_plan_takes_decisions(tmp_path: Path) -> None:
    assert cli("new", "fresh", "--dir", tmp_path) == 0
    plan = tmp_path / "fresh.yaml"
    assert cli("decide", plan, "H1", "--decision", "Start with the heuristic.") == 0
    assert mlplan.load_plan(plan).plan.experiment_log.decisions[-1].verdict is not None
