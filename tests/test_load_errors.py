"""The bad-input corpus: every file in tests/data/bad is refused with a located message.

Each corpus file is BASE_PLAN (below, valid) with one thing broken, or a file that is not a plan
at all (empty, binary, another encoding). CASES says, per file, the line (and column, where it
is meaningful) at which `mlplan validate` must report the problem and a fragment of the
message. Two inputs are generated into tmp_path instead of committed: a file over the 2 MiB
limit and brackets nested 10,000 deep.

Every case checks the contract a user relies on: exit code 1, ``file:LINE:COL`` on stderr, no
traceback, and the file left exactly as it was.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import yaml
from helpers import MakePlan

from mlplan._cli import main
from mlplan._plan import located_yaml as _yaml

BAD = Path(__file__).resolve().parent / "data" / "bad"

BASE_PLAN = """\
schema_version: 1
id: churn
title: Churn model
owners: [Ada]
problem:
  statement: Customers leave without warning.
  audience: The retention team.
  why_now: Churn doubled this quarter.
goals:
  software:
    - A weekly churn score per customer.
  metrics:
    - statement: Improve recall by 5% on churners.
      metric: recall
      target: "5%"
      segment: customers who churn
      guardrail:
        metrics: "recall.*"
        max_drop: "2%"
  trade_offs: []
metrics:
  - key: recall
    direction: higher
    description: Share of churners found.
  - key: recall.loyal
    direction: higher
    description: Recall on loyal customers.
experiment:
  data_motivation: Each churner costs 300 EUR a year.
  baselines:
    - id: B1
      description: Flag customers whose usage fell by half.
    - id: B2
      description: Flag nobody.
  hypotheses:
    - id: H1
      statement: Gradient boosting improves recall over B1 by 5%.
      method: Train gradient boosting on usage features.
      metrics: [recall, recall.loyal]
      baselines: [B1, B2]
      success_criteria:
        - metric: recall
          better_than: B1
          by: "5%"
      guardrails:
        - metrics: "recall.*"
          against: B1
          max_drop: "2%"
      timebox:
        days: 10
        start: 2026-11-20
      on_success:
        description: Try support tickets next.
        then: H2
      on_failure:
        description: Stop.
        then: stop
    - id: H2
      statement: Adding support tickets reaches recall 0.8.
      method: Join ticket counts.
      metrics: [recall]
      baselines: [B1]
      success_criteria:
        - metric: recall
          at_least: 0.8
      timebox:
        days: 5
        start: 2026-12-01
      on_success:
        description: Ship it.
        then: ship
      on_failure:
        description: Stop.
        then: stop
software_design:
  crawl: Score offline in a notebook.
  walk: A batch job writing scores to the warehouse.
  run: A feature store and daily retraining.
considerations:
  launch_criteria:
    - Recall above B1 by 5% on two consecutive weeks.
  what_could_go_wrong:
    products_affected: The retention e-mails.
    customer_impact: Loyal customers get needless offers.
    monitoring: Weekly recall against realised churn.
    rollback: Switch back to the B1 rule.
  security: Scores are internal only.
  privacy: No personal data leaves the warehouse.
experiment_log:
  entries:
    - date: 2026-11-21
      text: Started H1.
      hypothesis: H1
  decisions:
    - date: 2026-11-30
      hypothesis: H1
      decision: Go on to H2.
"""

# (file, line, column or None, fragment of the message reported at that place)
CASES: list[tuple[str, int, int | None, str]] = [
    # YAML syntax
    ("syntax_unclosed_quote.yaml", 6, 14, "this quote is never closed (YAML fails at line 15"),
    ("syntax_bad_indentation.yaml", 7, 14, "mapping values are not allowed here"),
    ("syntax_unclosed_bracket.yaml", 39, 16, "this '[' bracket is never closed"),
    ("syntax_tabs.yaml", 50, 1, "found character '\\t' that cannot start any token"),
    ("syntax_multiple_documents.yaml", 76, 1, "the file holds more than one YAML document"),
    # wrong types
    ("type_days_string.yaml", 50, 15, "expected a whole number, got 'ten'"),
    ("type_days_bool.yaml", 50, 15, "expected a whole number, got true"),
    ("type_bool_for_number.yaml", 65, 21, "expected a number, got true"),
    ("type_list_for_mapping.yaml", 5, 10, "expected a mapping (key: value lines), got a list"),
    ("type_mapping_for_list.yaml", 4, 9, "expected a list (lines starting with '- ')"),
    ("type_number_for_text.yaml", 3, 8, "expected text, got 2026"),
    # missing sections: a missing top-level key is reported at the document's start
    ("missing_problem.yaml", 1, 1, "missing required key 'problem'"),
    ("missing_goals.yaml", 1, 1, "missing required key 'goals'"),
    ("missing_metrics.yaml", 1, 1, "missing required key 'metrics'"),
    ("missing_experiment.yaml", 1, 1, "missing required key 'experiment'"),
    ("missing_considerations.yaml", 1, 1, "missing required key 'considerations'"),
    ("missing_timebox.yaml", 36, 7, "missing required key 'timebox'"),
    # unknown keys
    ("unknown_key_top_level.yaml", 4, 1, "unknown key 'budget'"),
    ("unknown_key_nested.yaml", 9, 3, "unknown key 'severity'"),
    ("unknown_key_typo.yaml", 41, 7, "unknown key 'sucess_criteria'"),
    # duplicate keys
    ("duplicate_key_top_level.yaml", 4, 1, "duplicate key 'title' (first defined at line 3)"),
    ("duplicate_key_nested.yaml", 52, 9, "duplicate key 'days' (first defined at line 50)"),
    # references that do not resolve
    ("ref_hypothesis_metric.yaml", 39, 25, "unknown metric 'precision'"),
    ("ref_hypothesis_baseline.yaml", 40, 23, "unknown baseline 'B3'"),
    ("ref_better_than.yaml", 43, 24, "'B3' is not one of H1's baselines"),
    ("ref_guardrail_against.yaml", 47, 20, "'B9' is not one of H1's baselines"),
    ("ref_guardrail_pattern.yaml", 46, 20, "the pattern 'precision.*' matches no declared metric"),
    ("ref_next_step.yaml", 54, 15, "'H3' is neither a hypothesis nor a terminal action"),
    ("ref_decision_hypothesis.yaml", 96, 19, "unknown hypothesis 'H7'"),
    ("ref_goal_metric.yaml", 14, 15, "unknown metric 'recal'"),
    # ids and the decision graph
    ("duplicate_hypothesis_id.yaml", 58, 11, "the id 'H1' is used more than once"),
    ("duplicate_metric_key.yaml", 28, 10, "the metric 'recall' is declared twice"),
    ("cycle_self_loop.yaml", 57, 15, "the next steps form a cycle: H1 → H1"),
    ("cycle_three.yaml", 88, 15, "the next steps form a cycle: H1 → H2 → H3 → H1"),
    # criteria
    (
        "criterion_two_thresholds.yaml",
        64,
        11,
        "exactly one of at_least, at_most, better_than, no_worse_than (got",
    ),
    ("criterion_no_threshold.yaml", 64, 11, "exactly one of at_least, at_most, better_than"),
    ("criterion_by_without_better_than.yaml", 64, 11, "'by' only goes with 'better_than'"),
    ("criterion_negative_margin.yaml", 44, 15, "a margin cannot be negative"),
    ("criterion_margin_words.yaml", 44, 15, "a percentage such as '5%', got 'five%'"),
    # non-finite numbers: a NaN threshold would fail every hypothesis, an infinite one means nothing
    ("threshold_nan.yaml", 65, 21, "expected a finite number, got nan"),
    ("threshold_out_of_range.yaml", 65, 21, "expected a finite number, got '1e400'"),
    ("threshold_negative_infinity.yaml", 65, 20, "expected a finite number, got -inf"),
    ("margin_infinite.yaml", 44, 15, "expected a finite number or a percentage such as '5%'"),
    ("margin_percent_out_of_range.yaml", 44, 15, "is past the range of numbers"),
    ("max_drop_infinite.yaml", 48, 21, "expected a finite number or a percentage such as '5%'"),
    ("bounds_nan.yaml", 24, 17, "a bound cannot be .nan; write .inf (or -.inf) for no bound"),
    ("power_at_nan.yaml", 30, 13, "expected a finite number or a percentage such as '5%', got nan"),
    # dates
    ("date_nonexistent.yaml", 51, 16, "'2026-02-30' is not a valid value"),
    ("date_word.yaml", 51, 16, "expected a date written YYYY-MM-DD, got 'tomorrow'"),
    # schema version
    ("version_2.yaml", 1, 17, "this plan uses schema version 2; this mlplan reads up to 1"),
    ("version_missing.yaml", 1, 1, "missing required key 'schema_version'"),
    # files that are not plans, or not safe to expand
    ("alias_bomb.yaml", 10, 9, "the document expands to more than 200,000 values"),
    ("recursive_alias.yaml", 4, 9, "contains an alias to itself"),
    ("empty.yaml", 1, 1, "the file is empty"),
    ("whitespace_only.yaml", 1, 1, "the file is empty"),
    ("comments_only.yaml", 1, 1, "the file holds no YAML document"),
    ("binary_nul.yaml", 3, 13, "the file is binary (it contains NUL bytes)"),
    ("encoding_latin1.yaml", 6, 50, "the file is not valid UTF-8 (byte 0xfc)"),
    ("encoding_utf16_bom.yaml", 1, 1, "the file is encoded as UTF-16, not UTF-8"),
    ("list_not_mapping.yaml", 1, 1, "a plan is a mapping of sections, but this file holds a list"),
    ("scalar_not_mapping.yaml", 1, 1, "but this file holds a single value"),
    ("yes_key.yaml", 9, 3, "a key must be text, but YAML reads this one as true"),
    ("python_tag_apply.yaml", 3, 8, "'!!python/object/apply:os.system' is not allowed"),
    ("python_tag_object.yaml", 5, 10, "'!!python/object:mlplan.Plan' is not allowed"),
    ("python_tag_name.yaml", 3, 8, "'!!python/name:os.system' is not allowed"),
    # values
    ("invalid_plan_id.yaml", 2, 5, "'Churn Model!' is not a valid id"),
    ("invalid_metric_key.yaml", 22, 10, "'recall@10' is not a valid key"),
    ("empty_hypotheses.yaml", 35, 15, "'hypotheses' must not be empty"),
    ("empty_hypothesis_baselines.yaml", 62, 18, "'baselines' must not be empty"),
    # several independent errors in one file, all reported (see test_all_errors_at_once)
    ("three_shape_errors.yaml", 9, 3, "unknown key 'severity'"),
    ("three_reference_errors.yaml", 54, 15, "'H9' is neither a hypothesis nor a terminal action"),
]

# Files that are not one small change to BASE_PLAN.
NOT_DERIVED = {
    "empty.yaml",
    "whitespace_only.yaml",
    "comments_only.yaml",
    "scalar_not_mapping.yaml",
    "list_not_mapping.yaml",  # BASE_PLAN as the one item of a list: every line changes
    "encoding_utf16_bom.yaml",
    "encoding_latin1.yaml",
    "binary_nul.yaml",
}


# The main messages word for word, as users read and search for them (the file is PLAN).
# Lines are checked in order; other lines may come between them.
EXACT: dict[str, list[str]] = {
    "missing_timebox.yaml": [
        "PLAN:36:7: error: missing required key 'timebox'",
        "    ==> At key: experiment ==> At key: hypotheses ==> At index 0 ==> At key: timebox",
        "✗ PLAN: invalid (1 error)",
    ],
    "unknown_key_typo.yaml": [
        "PLAN:41:7: error: unknown key 'sucess_criteria'",
        "    hint: did you mean 'success_criteria'? valid keys here: id, statement, method, "
        "metrics, baselines, success_criteria, guardrails, timebox, on_success, on_failure, "
        "pair_by, min_runs, runs, sequential, resampling, exploratory, family, weight, "
        "entry_point, command, condition_values",
    ],
    "duplicate_key_nested.yaml": [
        "PLAN:52:9: error: duplicate key 'days' (first defined at line 50)",
        "    hint: YAML would silently keep only the last one; remove or rename one of them",
    ],
    "type_days_string.yaml": [
        "PLAN:50:15: error: expected a whole number, got 'ten'",
        "    ==> At key: experiment ==> At key: hypotheses ==> At index 0 ==> At key: timebox "
        "==> At key: days",
        "    hint: How many days the hypothesis may take.",
    ],
    "ref_goal_metric.yaml": [
        "PLAN:14:15: error: unknown metric 'recal'",
        "    hint: did you mean 'recall'? known: recall, recall.loyal",
    ],
    "cycle_three.yaml": [
        "PLAN:88:15: error: the next steps form a cycle: H1 → H2 → H3 → H1",
        "    hint: the decision graph must end in ship, stop, collect-data or redesign",
    ],
    "alias_bomb.yaml": [
        "PLAN:10:9: error: the document expands to more than 200,000 values",
        "    hint: this looks like an alias bomb; write the values out instead of nesting aliases",
    ],
    "empty.yaml": ["PLAN:1:1: error: the file is empty"],
    "binary_nul.yaml": ["PLAN:3:13: error: the file is binary (it contains NUL bytes)"],
    "encoding_latin1.yaml": [
        "PLAN:6:50: error: the file is not valid UTF-8 (byte 0xfc)",
        "    hint: save the file as UTF-8",
    ],
    "encoding_utf16_bom.yaml": ["PLAN:1:1: error: the file is encoded as UTF-16, not UTF-8"],
    "syntax_unclosed_quote.yaml": [
        "PLAN:6:14: error: YAML syntax error: this quote is never closed "
        "(YAML fails at line 15: expected <block end>, but found '<scalar>')",
        "    hint: close the quote on this line",
    ],
}

# Files with several independent errors: every one is reported, in one run.
ALL_AT_ONCE: dict[str, list[int]] = {
    "three_shape_errors.yaml": [9, 34, 50],  # unknown key, missing key, wrong type
    "three_reference_errors.yaml": [39, 54, 96],  # metric, next step, decision
}


def validate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["validate", str(path)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def reported(err: str, path: Path) -> list[str]:
    """The `file:line:col: error: message` lines of stderr."""
    return [line for line in err.splitlines() if line.startswith(f"{path}:")]


def assert_refused(
    path: Path, line: int, column: int | None, fragment: str, capsys: pytest.CaptureFixture[str]
) -> str:
    """Validate ``path``, check the contract every bad input must keep, and return stderr."""
    before = path.read_bytes()
    code, out, err = validate(path, capsys)
    assert code == 1, err
    where = f"{path}:{line}:{column}: " if column is not None else f"{path}:{line}:"
    located = [problem for problem in reported(err, path) if problem.startswith(where)]
    assert located, f"nothing reported at {where}\n{err}"
    assert any(fragment in problem for problem in located), err
    assert "Traceback" not in out + err
    assert path.read_bytes() == before
    return err


def in_order(expected: list[str], lines: list[str]) -> bool:
    remaining = iter(lines)
    return all(any(line == wanted for line in remaining) for wanted in expected)


def test_the_corpus_is_large_and_every_file_has_an_expectation() -> None:
    files = {path.name for path in BAD.iterdir()}
    expected = {case[0] for case in CASES}
    assert len(files) >= 40
    assert files == expected
    assert set(EXACT) <= files
    assert set(ALL_AT_ONCE) <= files


def test_the_plan_the_corpus_derives_from_is_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(BASE_PLAN, encoding="utf-8")
    code, out, err = validate(path, capsys)
    assert code == 0, err
    assert f"✓ {path}: valid" in out


@pytest.mark.parametrize("name", sorted({case[0] for case in CASES} - NOT_DERIVED))
def test_corpus_files_are_small_changes_to_the_valid_plan(name: str) -> None:
    # So that each file fails for the one reason its name gives, not for an accident.
    changed = (BAD / name).read_text(encoding="utf-8").splitlines()
    matcher = difflib.SequenceMatcher(None, BASE_PLAN.splitlines(), changed, autojunk=False)
    kept = sum(block.size for block in matcher.get_matching_blocks())
    added, removed = len(changed) - kept, len(BASE_PLAN.splitlines()) - kept
    assert added <= (18 if name == "cycle_three.yaml" else 9)  # cycle_three adds H3
    assert removed <= (47 if name in {"missing_experiment.yaml", "empty_hypotheses.yaml"} else 12)


@pytest.mark.parametrize(("name", "line", "column", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_file_is_refused_at_its_line(
    name: str, line: int, column: int | None, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = BAD / name
    err = assert_refused(path, line, column, fragment, capsys)
    lines = [text.replace(str(path), "PLAN") for text in err.splitlines()]
    if name in EXACT:
        assert in_order(EXACT[name], lines), err
    if name in ALL_AT_ONCE:
        assert [int(problem.split(":")[1]) for problem in reported(err, path)] == ALL_AT_ONCE[name]
        assert f"✗ PLAN: invalid ({len(ALL_AT_ONCE[name])} errors)" in lines


def test_a_file_over_the_size_limit_is_refused_unread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "huge.yaml"
    padding = "".join(
        f"# filler line {i:07d} of a file that is far too big\n" for i in range(50_000)
    )
    path.write_text(BASE_PLAN + padding, encoding="utf-8")
    assert path.stat().st_size > 2 * 1024 * 1024
    err = assert_refused(path, 1, 1, "plans are limited to 2,097,152", capsys)
    assert f"the file is {path.stat().st_size:,} bytes" in err


def test_brackets_nested_10000_deep_are_refused_at_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(
        BASE_PLAN.replace("owners: [Ada]", "owners: " + "[" * 10_000 + "]" * 10_000),
        encoding="utf-8",
    )
    # The column is wherever YAML gave up inside the brackets; the line is what matters.
    assert_refused(path, 4, None, "the document nests more than 100 levels deep", capsys)


def test_block_nesting_deeper_than_the_limit_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nested = "".join("  " * depth + "- \n" for depth in range(1, 150))
    path = tmp_path / "deep.yaml"
    path.write_text(BASE_PLAN.replace("owners: [Ada]\n", "owners:\n" + nested), encoding="utf-8")
    # The root mapping is level 1 and the list on line 5 level 2: line 104 holds level 101.
    assert_refused(path, 104, None, "nests more than 100 levels deep", capsys)


def test_a_merge_key_may_override_what_it_merges(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `<<: *anchor` then a key of its own is what merge keys are for, not a duplicate key.
    text = BASE_PLAN.replace(
        "      timebox:\n        days: 10", "      timebox: &box\n        days: 10"
    )
    text = text.replace("      timebox:\n        days: 5\n", "      timebox:\n        <<: *box\n")
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    code, _, err = validate(path, capsys)
    assert code == 0, err
    # Two keys written in the same mapping are still a duplicate.
    text = text.replace("        <<: *box\n", "        <<: *box\n        start: 2026-12-02\n")
    path.write_text(text, encoding="utf-8")
    assert_refused(path, 69, 9, "duplicate key 'start' (first defined at line 68)", capsys)


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML was built without libyaml")
@pytest.mark.parametrize("variant", ["as is", "unicode and CRLF", "anchors and merge keys"])
def test_libyaml_and_the_pure_python_parser_read_a_plan_alike(
    variant: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # _yaml composes with libyaml when it can (10x faster) and falls back to the pure-Python
    # parser for its messages; values and every location must not depend on which one ran.
    text = BASE_PLAN
    if variant == "unicode and CRLF":
        text = text.replace("owners: [Ada]", "owners: [Zoë 😀 中文, Ada, 'x: é']")
        text = text.replace("title: Churn model", 'title: "Churn modèle 😀"').replace("\n", "\r\n")
    elif variant == "anchors and merge keys":
        text = text.replace(
            "      timebox:\n        days: 10", "      timebox: &box\n        days: 10"
        )
        text = text.replace(
            "      timebox:\n        days: 5\n", "      timebox:\n        <<: *box\n"
        )
        text = text.replace("      metrics: [recall]\n", "      metrics: &ms [recall]\n")
    path = tmp_path / "plan.yaml"
    path.write_bytes(text.encode("utf-8"))

    made: list[int] = []

    class CountingLoader(yaml.CSafeLoader):  # type: ignore[misc, unused-ignore]
        def __init__(self, stream: str) -> None:
            made.append(1)
            super().__init__(stream)

    monkeypatch.setattr(_yaml, "_FAST_LOADER", CountingLoader)
    fast = _yaml.read_document(path)
    assert made == [1]  # libyaml did compose it
    monkeypatch.setattr(_yaml, "_FAST_LOADER", None)
    slow = _yaml.read_document(path)
    assert fast.data == slow.data
    assert fast.locations == slow.locations
    assert len(fast.locations.values) > 100


def test_resampling_without_pairing_is_located_at_the_hypothesis(
    make_plan: MakePlan, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan()
    text = plan.read_text().replace(
        "  baselines:\n", "  resampling: {test_fraction: 0.3}\n  baselines:\n", 1
    )
    text = text.replace("      exact: true\n", "", 1)  # B1 measured, not a constant
    plan.write_text(text)
    line = text.splitlines().index("    - id: H1") + 1
    code, _, err = validate(plan, capsys)
    assert code == 1
    assert f"plan.yaml:{line}:7: error: H1 compares overlapping resamples" in err
    assert "set pair_by to the param that names the split" in err
