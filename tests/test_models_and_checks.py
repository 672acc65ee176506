"""The plan schema and its checks, seen from the library and from `mlplan validate|new|schema`.

Plans come from conftest's ``make_plan`` (a complete, valid plan) or from ``mlplan new``; each
test changes what it needs inline.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import Capsys, MakePlan, edited, run
from pydantic import ValidationError

from mlplan._plan.grading import grade_goal
from mlplan._plan.load import load_plan
from mlplan._plan.models import Criterion, Margin, MetricGoal, Plan, Timebox
from mlplan._plan.rules import find_problems
from mlplan._plan.scaffold import SCHEMA_FILE, available_templates, new_plan
from mlplan._plan.schema import plan_schema
from mlplan.errors import PlanError, ScaffoldError

# --- valid plans ------------------------------------------------------------------------------


def test_a_complete_plan_loads_with_every_section(make_plan: MakePlan) -> None:
    loaded = load_plan(make_plan())
    plan = loaded.plan
    assert plan.id == "churn"
    assert [h.id for h in plan.experiment.hypotheses] == ["H1", "H2"]
    assert plan.hypothesis("H2").success_criteria[1].at_most == 50
    assert plan.metric("latency_ms").direction == "lower"
    assert plan.baseline("B1").entry_point == "churn_baselines:usage_drop"
    # a single baseline id is accepted where a list is expected
    assert plan.hypothesis("H1").success_criteria[0].better_than == ["B1"]
    assert plan.experiment_log.entries == []
    # every value is located: H2 starts on line 44, its at_most criterion on line 51
    assert loaded.locations.of_value(("experiment", "hypotheses", 1)) == (44, 7)
    assert loaded.locations.of_value(
        ("experiment", "hypotheses", 1, "success_criteria", 1, "at_most")
    ) == (51, 41)


def test_the_blank_scaffold_loads_and_validates_as_generated(capsys: Capsys) -> None:
    code, out, err = run(capsys, "new", "churn")
    assert code == 0, err
    code, out, err = run(capsys, "validate", "churn.yaml")
    assert code == 0, err
    assert "✓ churn.yaml: valid" in out
    # the TODOs are one warning, not an error
    assert "warning: 22 values still hold the template's TODO (the first is here)" in err


def test_every_valid_plan_value_round_trips_through_the_model(make_plan: MakePlan) -> None:
    plan = load_plan(make_plan()).plan
    again = Plan.model_validate(plan.model_dump(mode="json"))
    assert again == plan


# --- Margin -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value", "relative", "shown"),
    [
        ("5%", 0.05, True, "5%"),
        ("+2.5 %", 0.025, True, "2.5%"),
        (" 10% ", 0.10, True, "10%"),
        ("0%", 0.0, True, "0%"),
        (0.02, 0.02, False, "0.02"),
        (3, 3.0, False, "3"),
        (0, 0.0, False, "0"),
        # A quoted number is that number (issue 16): one grammar, mlplan._plan.keys.number.
        ("0.01", 0.01, False, "0.01"),
        ("5", 5.0, False, "5"),
    ],
)
def test_margin_parses_percentages_and_amounts(
    raw: object, value: float, relative: bool, shown: str
) -> None:
    margin = Criterion(metric="m", better_than=["B"], by=raw).by
    assert margin == Margin(pytest.approx(value), relative)  # type: ignore[arg-type]
    assert str(margin) == shown


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (-0.5, "a margin cannot be negative"),
        ("-5%", "expected a number or a percentage such as '5%', got '-5%'"),
        ("five%", "got 'five%'"),
        ("0_7", "got '0_7'"),
        (b"0.7", "got b'0.7'"),
        (True, "not true/false"),
        ([5], "got [5]"),
    ],
)
def test_margin_refuses_what_is_not_an_amount(raw: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Criterion(metric="m", better_than=["B"], by=raw)


def test_margin_allowance_is_relative_to_the_size_of_the_reference() -> None:
    assert Margin(0.05, relative=True).allowance(200.0) == pytest.approx(10.0)
    assert Margin(0.05, relative=True).allowance(-200.0) == pytest.approx(10.0)
    assert Margin(0.5, relative=False).allowance(-200.0) == 0.5


def test_margin_serialises_as_written() -> None:
    goal = MetricGoal(statement="s", metric="m", target="5%")
    assert goal.model_dump(mode="json")["target"] == "5%"
    goal = MetricGoal(statement="s", metric="m", target=0.02)
    assert goal.model_dump(mode="json")["target"] == 0.02


# --- Timebox ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "deadline"),
    [
        (dt.date(2026, 11, 20), 10, dt.date(2026, 11, 30)),
        (dt.date(2026, 12, 28), 5, dt.date(2027, 1, 2)),
        (dt.date(2028, 2, 25), 5, dt.date(2028, 3, 1)),  # 2028 is a leap year
        (dt.date(2027, 2, 25), 5, dt.date(2027, 3, 2)),
    ],
)
def test_timebox_deadline_is_start_plus_days(start: dt.date, days: int, deadline: dt.date) -> None:
    assert Timebox(days=days, start=start).deadline == deadline


@pytest.mark.parametrize("days", [0, -3, 3651, 2.5, True, "ten"])
def test_timebox_refuses_days_that_are_not_a_sensible_whole_number(days: object) -> None:
    with pytest.raises(ValidationError):
        Timebox(days=days, start=dt.date(2026, 1, 1))


# --- Criterion --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"at_least": 1, "at_most": 2}, r"exactly one of .* \(got at_least, at_most\)"),
        ({}, "exactly one of at_least, at_most, better_than"),
        ({"at_least": 1, "by": "5%"}, "'by' only goes with 'better_than'"),
        ({"better_than": []}, "better_than needs at least one baseline id"),
        ({"at_most": False}, "valid number"),
    ],
)
def test_criterion_needs_exactly_one_threshold(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Criterion(metric="m", **fields)


# --- grading: the rubric of the design template -----------------------------------------------


@pytest.mark.parametrize(
    ("goal", "grade", "missing"),
    [
        # bad: "Improve the model's performance."
        ({"statement": "Improve the model's performance."}, "bad", ("a metric", "a target")),
        # a metric but no number is still bad
        ({"statement": "Improve AUC.", "metric": "auc"}, "bad", ("a target",)),
        # ok: "Improve AUC by X%."
        ({"statement": "Improve AUC by 5%.", "metric": "auc", "target": "5%"}, "ok", ()),
        # good: "Improve recall by X% for false negatives without decreasing recall for any
        # other class by > Y%."
        (
            {
                "statement": "Improve recall by 5% for false negatives without decreasing "
                "recall for any other class by > 2%.",
                "metric": "recall",
                "target": "5%",
                "segment": "false negatives",
                "guardrail": {"metrics": "recall.*", "max_drop": "2%"},
            },
            "good",
            (),
        ),
    ],
)
def test_goals_are_graded_with_the_template_rubric(
    goal: dict[str, Any], grade: str, missing: tuple[str, ...]
) -> None:
    got, lacks = grade_goal(MetricGoal.model_validate(goal))
    assert got == grade
    if grade != "ok":
        assert lacks == missing
    else:
        assert lacks == ("a segment", "a guardrail")


def test_a_segment_without_a_guardrail_is_only_ok() -> None:
    goal = MetricGoal(statement="s", metric="recall", target="5%", segment="churners")
    assert grade_goal(goal) == ("ok", ("a guardrail",))


# --- cross-plan checks ------------------------------------------------------------------------


def test_a_hypothesis_and_a_baseline_may_not_share_an_id(make_plan: MakePlan) -> None:
    path = edited(make_plan(), "    - id: B2\n", "    - id: H2\n")
    path = edited(path, "baselines: [B1, B2]", "baselines: [B1]")
    with pytest.raises(PlanError) as raised:
        load_plan(path)
    [problem] = raised.value.problems
    assert problem.message == "the id 'H2' is used more than once"
    assert problem.path == ("experiment", "hypotheses", 1, "id")


def test_a_cycle_not_through_the_first_hypothesis_is_found_once(make_plan: MakePlan) -> None:
    # H1 -> H2 (on failure), H2 -> H2 (on success): the cycle does not contain H1.
    path = edited(make_plan(), "{description: Ship it., then: ship}", "{description: x, then: H2}")
    with pytest.raises(PlanError) as raised:
        load_plan(path)
    assert [p.message for p in raised.value.problems] == ["the next steps form a cycle: H2 → H2"]


def test_a_long_acyclic_decision_graph_is_checked_quickly(make_plan: MakePlan) -> None:
    # 2,000 hypotheses, each leading to every later one by success and the next by failure:
    # a walk that revisited finished nodes would take exponential time.
    plan = load_plan(make_plan()).plan
    template = plan.hypothesis("H2")
    count = 2000
    hypotheses = [
        template.model_copy(
            update={
                "id": f"H{i}",
                "on_success": template.on_success.model_copy(
                    update={"then": f"H{i + 2}" if i + 2 < count else "ship"}
                ),
                "on_failure": template.on_failure.model_copy(
                    update={"then": f"H{i + 1}" if i + 1 < count else "stop"}
                ),
            }
        )
        for i in range(count)
    ]
    big = plan.model_copy(
        update={"experiment": plan.experiment.model_copy(update={"hypotheses": hypotheses})}
    )
    started = time.perf_counter()
    assert find_problems(big) == []
    assert time.perf_counter() - started < 2  # ~0.05 s; it took 47 s before the walk was shared


# --- validate: --strict, --json, several paths ------------------------------------------------


def test_strict_fails_on_a_bad_goal_that_is_only_a_warning_otherwise(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    path = make_plan()
    edited(path, '      metric: recall\n      target: "5%"\n', "")
    code, out, err = run(capsys, "validate", str(path))
    assert code == 0, err
    assert f"{path}:12:7: warning: metric goal graded bad: it has no metric or no number" in err
    assert "goal 1: bad (add a metric and a target)" in out
    code, out, err = run(capsys, "validate", "--strict", str(path))
    assert code == 1
    assert f"{path}:12:7: error: metric goal graded bad: it has no metric or no number" in err


def planned(plan: Path) -> Path:
    """The test plan with a planned n: complete, without the 'no planned n' warning."""
    return edited(plan, "experiment:\n", "experiment:\n  pair_by: seed\n  runs: 3\n")


def test_strict_fails_on_each_todo_and_passes_a_complete_plan(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    new_plan("draft", directory=Path())
    code, _, err = run(capsys, "validate", "--strict", "draft.yaml")
    assert code == 1
    todos = [
        line for line in err.splitlines() if "error: this still holds the template's TODO" in line
    ]
    assert len(todos) == 22
    assert todos[0].startswith("draft.yaml:11:14: ")
    code, out, err = run(capsys, "validate", "--strict", str(planned(make_plan())))
    assert code == 0, err
    assert err == ""
    assert "goal 1: good: Improve recall by 5%" in out


def test_json_report_holds_problems_and_grades(make_plan: MakePlan, capsys: Capsys) -> None:
    good = planned(make_plan("good"))
    bad = edited(make_plan("bad"), "days: 10", "days: ten")
    code, out, _ = run(capsys, "validate", "--json", str(good), str(bad))
    assert code == 1
    reports = json.loads(out)
    assert [r["file"] for r in reports] == [str(good), str(bad)]
    assert reports[0]["valid"] is True
    assert reports[0]["problems"] == []
    assert reports[0]["goals"] == [
        {
            "index": 0,
            "statement": "Improve recall by 5% on churners without losing more than 2% elsewhere.",
            "grade": "good",
            "missing": [],
        }
    ]
    assert reports[1]["valid"] is False
    assert reports[1]["goals"] == []
    [problem] = reports[1]["problems"]
    assert problem["message"] == "expected a whole number, got 'ten'"
    assert (problem["line"], problem["column"], problem["severity"]) == (41, 23, "error")
    assert problem["path"] == ["experiment", "hypotheses", 0, "timebox", "days"]


def test_several_paths_are_all_reported(make_plan: MakePlan, capsys: Capsys) -> None:
    first, second = make_plan("a"), make_plan("b")
    code, out, err = run(capsys, "validate", str(first), str(second))
    assert code == 0, err
    assert out.count(": valid") == 2
    broken = edited(
        make_plan("c"), "{description: Ship it., then: ship}", "{description: x, then: H9}"
    )
    code, out, err = run(capsys, "validate", str(first), str(broken), str(second))
    assert code == 1
    assert f"✓ {first}: valid" in out
    assert f"✓ {second}: valid" in out
    assert f"✗ {broken}: invalid (1 error)" in err
    assert "'H9' is neither a hypothesis nor a terminal action" in err


def test_a_missing_file_is_a_located_error(capsys: Capsys) -> None:
    code, _, err = run(capsys, "validate", "nowhere.yaml")
    assert code == 1
    assert "nowhere.yaml:1:1: error: no such file" in err
    assert "Traceback" not in err


# --- mlplan new -------------------------------------------------------------------------------


def test_new_writes_the_plan_and_its_schema(capsys: Capsys) -> None:
    code, out, err = run(capsys, "new", "fraud_model")
    assert code == 0, err
    plan = Path("fraud_model.yaml")
    assert out.startswith("Created fraud_model.yaml.")
    text = plan.read_text(encoding="utf-8")
    assert text.splitlines()[0] == f"# yaml-language-server: $schema={SCHEMA_FILE}"
    assert "\nid: fraud-model\n" in text
    assert json.loads(Path(SCHEMA_FILE).read_text(encoding="utf-8")) == plan_schema()


def test_new_into_a_directory(tmp_path: Path, capsys: Capsys) -> None:
    code, _, err = run(capsys, "new", "p", "--dir", "plans/q1")
    assert code == 0, err
    assert (tmp_path / "plans" / "q1" / "p.yaml").is_file()
    assert (tmp_path / "plans" / "q1" / SCHEMA_FILE).is_file()


def test_new_never_overwrites_a_plan_or_a_schema(capsys: Capsys) -> None:
    Path("churn.yaml").write_text("mine\n", encoding="utf-8")
    Path(SCHEMA_FILE).write_text("{}\n", encoding="utf-8")
    code, _, err = run(capsys, "new", "churn")
    assert code == 1
    assert "churn.yaml already exists; a new plan never overwrites a file" in err
    assert err.rstrip().endswith("Choose another name or directory. (NAME, -d/--dir)")
    assert Path("churn.yaml").read_text(encoding="utf-8") == "mine\n"
    # a second plan beside an existing schema leaves the schema as it is
    code, _, err = run(capsys, "new", "other")
    assert code == 0, err
    assert Path(SCHEMA_FILE).read_text(encoding="utf-8") == "{}\n"


@pytest.mark.parametrize("name", ["a/b", "../escape", "..", "a\\b", "x..y", "/etc/passwd"])
def test_new_refuses_names_that_are_paths(name: str, tmp_path: Path, capsys: Capsys) -> None:
    code, _, err = run(capsys, "new", name)
    assert code == 1
    assert "is not a plan name: it must not contain path separators or '..'" in err
    assert "(-d/--dir)" in err  # the CLI's switch for the library's `directory`
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]  # nothing written


@pytest.mark.parametrize("name", ["", "-x", "a b", "é"])
def test_new_refuses_names_that_are_not_slugs(name: str, capsys: Capsys) -> None:
    with pytest.raises(ScaffoldError, match="is not a plan name"):
        new_plan(name, directory=Path())


def test_new_with_an_unknown_template_lists_the_valid_ones(capsys: Capsys) -> None:
    code, _, err = run(capsys, "new", "x", "--template", "nope")
    assert code == 2  # a usage mistake, as the README promises
    assert f"unknown template 'nope'; available: {', '.join(available_templates())}" in err
    assert available_templates()[0] == "blank"
    assert not Path("x.yaml").exists()


# --- mlplan schema ----------------------------------------------------------------------------


def schema_from_cli(capsys: Capsys) -> dict[str, Any]:
    code, out, err = run(capsys, "schema")
    assert code == 0, err
    schema: dict[str, Any] = json.loads(out)
    return schema


def as_json_document(path: Path) -> Any:
    """The YAML file as the JSON an editor's schema check sees (dates as their ISO text)."""
    return json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))


def test_schema_prints_a_json_schema(capsys: Capsys) -> None:
    schema = schema_from_cli(capsys)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "mlplan plan"
    assert schema["additionalProperties"] is False
    assert {"problem", "goals", "metrics", "experiment", "considerations"} <= set(
        schema["required"]
    )


def test_schema_is_valid_and_accepts_the_blank_scaffold(
    make_plan: MakePlan, capsys: Capsys
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = schema_from_cli(capsys)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    new_plan("blank", directory=Path())
    assert list(validator.iter_errors(as_json_document(Path("blank.yaml")))) == []
    assert list(validator.iter_errors(as_json_document(make_plan()))) == []


def test_schema_refuses_what_the_loader_refuses(make_plan: MakePlan, capsys: Capsys) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(schema_from_cli(capsys))
    document = as_json_document(make_plan())
    document["problem"]["severity"] = "high"  # unknown key
    document["experiment"]["hypotheses"][0]["timebox"]["days"] = "ten"
    document["goals"]["metrics"][0]["target"] = "five%"
    messages = sorted(error.message for error in validator.iter_errors(document))
    assert len(messages) == 3, messages
    assert any("'severity' was unexpected" in message for message in messages)
