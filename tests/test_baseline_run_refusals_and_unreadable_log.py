"""`mlplan baseline run` refuses, before running anything, a plan with no runnable baseline
(exit 1) and --replace over several baselines (a usage error, exit 2); `mlplan render` over an
embedded store that is not a database still writes the design doc, its log marked unavailable
with the reason (exit 0, no traceback); an --output that cannot be a file is refused first."""

from __future__ import annotations

from pathlib import Path

from helpers import TODAY, Capsys, MakePlan, run
from run_plans import write_plan


def test_a_plan_with_no_runnable_baseline_says_to_log_them_by_hand(
    tmp_path: Path, capsys: Capsys
) -> None:
    plan = write_plan(tmp_path, baselines="    - {id: B1, description: b}\n")
    code, out, err = run(capsys, "baseline", "run", plan)
    assert (code, out) == (1, "")
    assert err.startswith(
        "error: no baseline in this plan declares an entry_point or a command to run it: log "
        "the baselines' results as results of a baseline instead"
    )
    assert "Traceback" not in err
    assert not (tmp_path / ".mlplan" / "mlflow.db").exists()


def test_replace_names_one_baselines_run_so_two_baselines_are_a_usage_error(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    code, _, err = run(
        capsys, "baseline", "run", plan, "B1", "B2", "--replace", "abc", "--reason", "redo"
    )
    assert code == 2
    assert err.splitlines()[0] == (
        "error: a replaced run belongs to one baseline: give only that baseline (--replace RUN)"
    )
    assert not (plan.parent / ".mlplan" / "mlflow.db").exists()  # nothing ran


def test_a_store_that_is_not_a_database_leaves_the_doc_with_its_log_unavailable(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    database = plan.parent / ".mlplan" / "mlflow.db"
    database.parent.mkdir()
    database.write_bytes(b"not a database " * 1000)
    code, out, err = run(capsys, "render", plan, "--today", TODAY)
    assert code == 0
    assert "Traceback" not in err
    log = out.split("## Appendix: experiment log", 1)[1]
    # The path is Markdown-escaped in the doc (test\_a\_store...).
    unescaped = log.replace("\\_", "_")
    assert unescaped.lstrip().startswith(
        f"> The experiment log was not available: the embedded store {database} could not be read ("
    )
    assert "file is not a database" in log
    assert "| H1 |" not in log  # no verdicts drawn from a store that could not be read


def test_an_output_inside_a_file_is_one_message_before_anything_is_read(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    plan = make_plan()
    blocker = plan.parent / "notes.txt"
    blocker.write_text("a file, not a folder\n", encoding="utf-8")
    code, out, err = run(capsys, "render", plan, "--output", blocker / "doc.md")
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == f"error: cannot write {blocker / 'doc.md'}: Not a directory"
    assert blocker.read_text(encoding="utf-8") == "a file, not a folder\n"
    assert not (plan.parent / ".mlplan").exists()
