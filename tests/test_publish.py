"""`publish` in the fast tier: the tags it writes to an embedded store, read back from MLflow."""

from __future__ import annotations

from pathlib import Path

from helpers import TODAY, Capsys, MakePlan, run

import mlplan
from mlplan._api import journal_for
from mlplan._plan.load import load_plan
from mlplan._record.store import open_store

# H1 needs recall ≥ B1 + 5%: these pairs (B1, H1) fail it clearly, and these pass it.
FAILING = [(0.60, 0.50), (0.61, 0.52), (0.62, 0.51)]


def log_pairs(plan: Path, pairs: list[tuple[float, float]]) -> None:
    journal = journal_for(plan)  # one journal: the plan is read and the store opened once
    for seed, (base, ours) in enumerate(pairs):
        for kind, subject, recall in (("baseline", "B1", base), ("hypothesis", "H1", ours)):
            submission = journal.submission(
                kind=kind,  # type: ignore[arg-type]
                subject=subject,
                metrics={"recall": recall, "recall.loyal": 0.9},
                params={"seed": seed},
            )
            journal.log(submission)


def stored_tags(plan: Path) -> dict[str, str]:
    """The experiment's tags as MLflow holds them, read through a fresh client."""
    store = open_store(load_plan(plan).plan, journal_for(plan).location)
    tags: dict[str, str] = store.client.get_experiment(store.experiment_id).tags
    return tags


def test_publish_writes_the_verdicts_as_tags_and_rewrites_them(make_plan: MakePlan) -> None:
    plan = make_plan()
    log_pairs(plan, FAILING[:1])  # one pair: too few to judge
    first = mlplan.publish(plan, today=TODAY)
    assert first.verdicts["H1"] != "failed"
    assert stored_tags(plan)["mlplan.verdict.H1"] == first.verdicts["H1"]

    log_pairs(plan, FAILING)  # the first pair again (deduplicated), then two more
    published = mlplan.publish(plan, today=TODAY)
    tags = stored_tags(plan)
    assert {name: tags[name] for name in published} == dict(published)  # returned = stored
    judged = {v.hypothesis: v for v in mlplan.status(plan, today=TODAY, check=True).verdicts}
    assert published.verdicts == {h: v.status for h, v in judged.items()}
    assert published.verdicts["H1"] == "failed"
    assert tags["mlplan.evidence.H1"] == f"{judged['H1'].reason} (3 runs)"
    assert tags["mlplan.published.on"] == TODAY.isoformat()
    assert tags["mlplan.published.commit"].startswith("none")  # tmp_path is not in git
    assert tags["mlplan.criteria.H1"]
    first_line = tags["mlflow.note.content"].splitlines()[0]
    assert "H1 failed" in first_line


def test_the_command_says_what_it_published(make_plan: MakePlan, capsys: Capsys) -> None:
    plan = make_plan()
    log_pairs(plan, FAILING)
    code, out, err = run(capsys, "publish", plan, "--today", TODAY)
    assert code == 0, err
    tags = stored_tags(plan)
    verdicts = {k.removeprefix("mlplan.verdict."): v for k, v in tags.items() if ".verdict." in k}
    summary = ", ".join(f"{h} {status}" for h, status in verdicts.items())
    assert out.strip() == f"Published {len(verdicts)} verdicts: {summary}"
    assert "H1 failed" in summary
