"""The local copy of the results cannot bend a verdict (issue 16).

Trust-bearing readers (`status --check`, the CI gate, `publish`) judge the store itself: a
hand-edited copy in .mlplan/cache or an outbox entry changes nothing they say; with a server
as the store they refuse to run beside .mlplan files tracked by git; with the embedded store
they say they judged the committed one. Plain `status` may read the copy, and says so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import TODAY, Capsys, MakePlan, run

from mlplan._api import journal_for
from mlplan._plan.load import load_plan
from mlplan._record.journal import Journal
from mlplan._record.store import open_store
from mlplan.errors import StoreAuthError

# H1 needs recall ≥ B1 + 5%: these three pairs fail it clearly.
FAILING = [(0.60, 0.50), (0.61, 0.52), (0.62, 0.51)]


def log_pairs(plan: Path, pairs: list[tuple[float, float]], uri: str | None = None) -> None:
    journal = journal_for(plan, uri)
    for seed, (base, ours) in enumerate(pairs):
        for kind, subject, recall in (("baseline", "B1", base), ("hypothesis", "H1", ours)):
            journal.log(
                journal.submission(
                    kind=kind,  # type: ignore[arg-type]
                    subject=subject,
                    metrics={"recall": recall, "recall.loyal": 0.9 + seed / 1000},
                    params={"seed": seed},
                )
            )


def the_copy(plan: Path) -> Path:
    (copy,) = (plan.parent / ".mlplan" / "cache").glob("results-*.json")
    return copy


def tamper(copy: Path) -> None:
    """Turn every H1 result in the copy into a clear success."""
    data = json.loads(copy.read_text())
    for index, result in enumerate(data["results"]):
        if result["subject"] == "H1":
            result["metrics"]["recall"] = 0.9 + index / 1000
    copy.write_text(json.dumps(data))


def h1(capsys: Capsys, plan: Path, *extra: object) -> tuple[int, str, str]:
    code, out, err = run(capsys, "status", plan, "--json", "--today", TODAY, *extra)
    (row,) = [row for row in json.loads(out)["hypotheses"] if row["hypothesis"] == "H1"]
    return code, row["status"], err


@pytest.fixture
def failed_plan(make_plan: MakePlan, capsys: Capsys) -> Path:
    plan = make_plan()
    log_pairs(plan, FAILING)
    assert h1(capsys, plan)[1] == "failed"  # the first read keeps a copy
    return plan


def test_a_hand_edited_copy_changes_neither_the_check_nor_what_publish_pushes(
    failed_plan: Path, capsys: Capsys
) -> None:
    plan = failed_plan
    tamper(the_copy(plan))
    # Plain status reads the copy (what it is for), and says so.
    code, status, err = h1(capsys, plan)
    assert (code, status) == (0, "succeeded")
    assert "results read from the local copy in .mlplan/cache" in err
    # The check reads the store.
    code, status, err = h1(capsys, plan, "--check")
    assert (code, status) == (1, "failed")
    assert "local copy" not in err
    assert "H1" in err and "failed" in err
    # So does publish, and what it pushes is what the store says.
    code, out, err = run(capsys, "publish", plan, "--today", TODAY)
    assert code == 0, err
    assert "H1 failed" in out
    store = open_store(load_plan(plan).plan, journal_for(plan).location)
    experiment = store.client.get_experiment(store.experiment_id)
    assert experiment.tags["mlplan.verdict.H1"] == "failed"


def test_the_check_neither_delivers_nor_reads_the_outbox(failed_plan: Path, capsys: Capsys) -> None:
    plan = failed_plan
    # An entry that would change the verdict if it were delivered: a fourth, winning pair.
    journal = journal_for(plan)
    for kind, subject, recall in (("baseline", "B1", 0.1), ("hypothesis", "H1", 0.99)):
        submission = journal.submission(
            kind=kind,  # type: ignore[arg-type]
            subject=subject,
            metrics={"recall": recall, "recall.loyal": 0.95},
            params={"seed": 9},
        )
        journal.outbox.put(journal.plan.id, submission, journal.location.destination, "waiting")
    entries = sorted((plan.parent / ".mlplan" / "outbox").glob("*.json"))
    assert len(entries) == 2
    code, status, err = h1(capsys, plan, "--check")
    assert (code, status) == (1, "failed")
    assert "2 files in" in err and "were not judged" in err
    assert sorted((plan.parent / ".mlplan" / "outbox").glob("*.json")) == entries
    code, out, _ = run(capsys, "publish", plan, "--today", TODAY)
    assert (code, "H1 failed" in out) == (0, True)
    assert sorted((plan.parent / ".mlplan" / "outbox").glob("*.json")) == entries
    # Plain status delivers them, as before.
    assert h1(capsys, plan)[1] != "failed" or not list(
        (plan.parent / ".mlplan" / "outbox").glob("*.json")
    )


def test_the_raw_read_equals_mlflows_own(failed_plan: Path) -> None:
    """The embedded fast path that keeps --check fast reads exactly what MLflow's search does:
    NaN-free values, params, tags, a replaced run, a run deleted in the UI, one left RUNNING."""
    from mlflow.tracking import MlflowClient

    plan = failed_plan
    journal = journal_for(plan)
    first = journal.results()[0]
    journal.log(
        journal.submission(
            kind=first.kind,
            subject=first.subject,
            metrics={"recall": 0.33, "recall.loyal": 0.9},
            params=dict(first.params),
            replaces=first.run_id,
            reason="a bug in the split",
        )
    )
    client = MlflowClient(tracking_uri=journal.location.uri)
    doomed = journal.results()[-1].run_id
    client.delete_run(doomed)
    running = client.create_run(journal.store.experiment_id, tags={"mlplan.plan": "churn"})
    assert running.info.run_id

    loaded = load_plan(plan)
    raw = open_store(loaded.plan, journal.location, refresh=True)
    slow = open_store(loaded.plan, journal.location, refresh=True)
    _ = slow.client  # opened: the raw path is skipped, MLflow's search answers
    fast = raw.results()
    assert "mlflow" not in repr(type(raw._client))  # never opened
    assert raw._client is None
    assert fast == slow.results()
    assert doomed not in {r.run_id for r in fast}
    assert any(r.replaced_by for r in fast)


@pytest.mark.slow  # a subprocess (the gate, or a fresh interpreter)
def test_the_check_on_an_embedded_store_reads_it_without_importing_mlflow(
    failed_plan: Path,
) -> None:
    import sys

    probe = (
        "import sys; from mlplan._cli import main; "
        f"code = main(['status', {str(failed_plan)!r}, '--check', '--today', "
        f"{TODAY.isoformat()!r}]); "
        "print('MLFLOW' if 'mlflow' in sys.modules else 'NO-MLFLOW', code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], check=False, capture_output=True, text=True
    )
    assert done.stdout.split()[-2:] == ["NO-MLFLOW", "1"], done.stderr


# -- files a pull request brings -----------------------------------------------------------------


def git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=folder,
        check=True,
        capture_output=True,
    )


def fresh_checkout_with(plan: Path, *files: str) -> None:
    """A git repository around the plan with ``files`` (under .mlplan) committed by force."""
    folder = plan.parent
    git(folder, "init", "-q")
    (folder / ".gitignore").write_text(".mlplan/\n")
    git(folder, "add", ".gitignore", plan.name)
    for name in files:
        git(folder, "add", "-f", name)
    git(folder, "commit", "-q", "-m", "a pull request")


@pytest.mark.parametrize(
    "argv", [["status", "--check"], ["publish"]], ids=["status --check", "publish"]
)
def test_a_committed_copy_beside_a_server_store_is_refused(
    failed_plan: Path, capsys: Capsys, argv: list[str]
) -> None:
    plan = failed_plan
    copy = the_copy(plan)
    fresh_checkout_with(plan, str(copy.relative_to(plan.parent)))
    server = "http://127.0.0.1:9"  # never reached: the refusal comes first
    code, _, err = run(capsys, argv[0], plan, *argv[1:], "--tracking-uri", server)
    assert code == 1
    assert err.count("error:") == 1
    assert "tracked by git" in err and copy.name in err
    assert "git rm -r --cached" in err
    assert "did not answer" not in err
    # Plain status is not a gate: it goes on (here to a dead server).
    code, _, err = run(capsys, "status", plan, "--tracking-uri", server)
    assert "tracked by git" not in err


@pytest.mark.slow  # a subprocess (the gate, or a fresh interpreter)
def test_the_gate_refuses_a_forced_copy_against_a_server(failed_plan: Path, tmp_path: Path) -> None:
    from test_action import run_gate

    plan = failed_plan
    shutil.rmtree(plan.parent / ".mlplan" / "outbox", ignore_errors=True)
    fresh_checkout_with(plan, str(the_copy(plan).relative_to(plan.parent)))
    summary = tmp_path / "summary.md"
    done = run_gate({"plans": str(plan), "tracking-uri": "http://127.0.0.1:9"}, summary, tmp_path)
    assert done.returncode == 1
    assert "tracked by git" in summary.read_text()
    assert "::error file=" in done.stdout


def test_a_committed_embedded_store_is_judged_and_said_to_be(
    failed_plan: Path, capsys: Capsys
) -> None:
    plan = failed_plan
    fresh_checkout_with(plan, ".mlplan/mlflow.db")
    code, status, err = h1(capsys, plan, "--check")
    assert (code, status) == (1, "failed")
    assert "judged the embedded store committed to git" in err
    # An embedded store that is not committed needs no such line.
    git(plan.parent, "rm", "-q", "--cached", ".mlplan/mlflow.db")
    assert "committed to git" not in h1(capsys, plan, "--check")[2]


def test_a_check_outside_git_is_unaffected(failed_plan: Path, capsys: Capsys) -> None:
    code, status, err = h1(capsys, failed_plan, "--check")
    assert (code, status) == (1, "failed")
    assert "git" not in err


# -- render -o, when the store refuses the doc's copy -------------------------------------------


def test_render_says_the_doc_was_written_before_what_failed(
    failed_plan: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlplan._record.store import MlflowStore

    def refuse(*_: object) -> str:
        raise StoreAuthError("the tracking server refused user 'reader' permission (403)", 403)

    monkeypatch.setattr(MlflowStore, "log_plan_snapshot", refuse)
    doc = failed_plan.parent / "doc.md"
    code, _, err = run(capsys, "render", failed_plan, "-o", doc, "--today", TODAY)
    assert code == 1
    assert doc.is_file() and "H1" in doc.read_text()
    assert f"wrote the design doc to {doc}, but could not keep a copy" in err
    assert err.index("wrote the design doc") < err.index("403")


def test_render_with_a_broken_artifact_folder(failed_plan: Path, capsys: Capsys) -> None:
    """A real failure of the store: its artifact folder replaced by a file."""
    artifacts = failed_plan.parent / ".mlplan" / "artifacts"
    shutil.rmtree(artifacts)
    artifacts.write_text("not a folder")
    doc = failed_plan.parent / "doc.md"
    code, _, err = run(capsys, "render", failed_plan, "-o", doc, "--today", TODAY)
    assert code == 1
    assert doc.is_file()
    assert f"wrote the design doc to {doc}" in err
    assert "bug in mlplan" not in err


def test_journal_stored_results_never_reads_the_copy(failed_plan: Path) -> None:
    tamper(the_copy(failed_plan))
    journal = Journal(load_plan(failed_plan))
    assert min(r.metrics["recall"] for r in journal.results() if r.subject == "H1") >= 0.9
    journal = Journal(load_plan(failed_plan))
    stored = journal.stored_results()
    assert max(r.metrics["recall"] for r in stored if r.subject == "H1") < 0.6


# -- files git brings: no reader uses them (issue 16, found again by the adversarial pass) -------


def test_a_copy_tracked_by_git_is_read_by_no_reader(
    failed_plan: Path, capsys: Capsys, tmp_path: Path
) -> None:
    """A forced-in copy once fed plain status, the site and the doc uploaded beside the
    results: the copy belongs to the machine that wrote it, so a tracked one is not read."""
    plan = failed_plan
    copy = the_copy(plan)
    tamper(copy)
    fresh_checkout_with(plan, str(copy.relative_to(plan.parent)))
    code, status, err = h1(capsys, plan)
    assert (code, status) == (0, "failed")
    assert "tracked by git, so it was not read" in err
    assert "results read from the local copy" not in err
    doc = plan.parent / "doc.md"
    assert run(capsys, "render", plan, "-o", doc, "--today", TODAY)[0] == 0
    assert "| **H1** | failed |" in doc.read_text()
    site = tmp_path / "site"
    assert run(capsys, "site", plan, "-o", site, "--today", TODAY)[0] == 0
    page = (site / "index.html").read_text()
    assert "succeeded" not in page.split("H1", 1)[1].split("</tr>", 1)[0]


def committed_entry(plan: Path, recall: float) -> Path:
    """An outbox entry for the plan's own store, as anyone could write and commit it."""
    journal = journal_for(plan)
    submission = journal.submission(
        kind="hypothesis", subject="H1", metrics={"recall": recall, "recall.loyal": 0.9},
        params={"seed": 9},
    )  # fmt: skip
    entry = journal.outbox.put(journal.plan.id, submission, journal.location.destination)
    return entry.path


def test_an_outbox_entry_tracked_by_git_is_never_delivered(
    failed_plan: Path, capsys: Capsys
) -> None:
    plan = failed_plan
    entry = committed_entry(plan, 0.99)
    fresh_checkout_with(plan, str(entry.relative_to(plan.parent)))
    before = len(journal_for(plan).stored_results())
    for command in ("status", "render"):  # readers deliver what waits before they read
        run(capsys, command, plan, "--today", TODAY)
        assert entry.is_file(), command
        assert len(journal_for(plan).stored_results()) == before, command
    code, _, err = run(capsys, "sync", plan)
    assert code == 1
    assert f"{entry}: hypothesis H1 is tracked by git, so it was not delivered" in err
    # Logging a result runs the same sync: it delivers its own result, not the committed one.
    code, out, _ = run(capsys, "log-result", plan, "-B", "B1", "-m", "recall=0.5",
                       "-m", "recall.loyal=0.9", "-p", "seed=7")  # fmt: skip
    assert code == 0 and "Logged" in out
    assert len(journal_for(plan).stored_results()) == before + 1
    # Untracked by its owner, it goes.
    git(plan.parent, "rm", "-q", "--cached", str(entry.relative_to(plan.parent)))
    code, out, _ = run(capsys, "sync", plan)
    assert (code, not entry.exists()) == (0, True), out
    assert len(journal_for(plan).stored_results()) == before + 2


def test_a_store_folder_that_is_a_committed_link_is_seen_through(
    failed_plan: Path, capsys: Capsys
) -> None:
    """`.mlplan` committed as a symlink to a committed folder: the gate still says it judged
    a committed store (git lists only the link when asked from the plan's folder)."""
    plan = failed_plan
    folder = plan.parent
    real = folder / "data" / "home"
    real.parent.mkdir()
    (folder / ".mlplan").rename(real)
    (folder / ".mlplan").symlink_to(Path("data") / "home")
    git(folder, "init", "-q")
    git(folder, "add", plan.name, ".mlplan", "data/home/mlflow.db")
    git(folder, "commit", "-q", "-m", "a store behind a link")
    code, status, err = h1(capsys, plan, "--check")
    assert (code, status) == (1, "failed")
    assert "judged the embedded store committed to git" in err


def test_an_outbox_or_copy_behind_a_committed_link_is_used_by_no_reader(
    failed_plan: Path, capsys: Capsys
) -> None:
    """`.mlplan/outbox -> ../fixtures` committed with forged entries in fixtures/ was
    delivered by sync and site, and a linked copy believed by status (the re-check of issue
    16): git lists only the link when asked from .mlplan."""
    plan = failed_plan
    folder, home = plan.parent, plan.parent / ".mlplan"
    entry = committed_entry(plan, 0.99)
    copy = the_copy(plan)
    tamper(copy)
    for name, moved in (("outbox", entry), ("cache", copy)):
        target = folder / f"fixtures-{name}"
        target.mkdir()
        moved.rename(target / moved.name)
        shutil.rmtree(home / name)
        (home / name).symlink_to(Path("..") / target.name)
    git(folder, "init", "-q")
    (folder / ".gitignore").write_text(".mlplan/*\n!.mlplan/outbox\n!.mlplan/cache\n")
    git(folder, "add", ".gitignore", plan.name, ".mlplan/outbox", ".mlplan/cache")
    git(folder, "add", "fixtures-outbox", "fixtures-cache")
    git(folder, "commit", "-q", "-m", "a pull request")
    before = len(journal_for(plan).stored_results())
    code, _, err = run(capsys, "sync", plan)
    assert code == 1 and "is tracked by git, so it was not delivered" in err
    assert len(journal_for(plan).stored_results()) == before
    code, status, err = h1(capsys, plan)
    assert status == "failed" and "tracked by git, so it was not read" in err


def test_a_checkout_owned_by_another_user_is_still_asked(failed_plan: Path, capsys: Capsys) -> None:
    """In a checkout owned by another user (a CI container) git refused with "dubious
    ownership", which read as "nothing tracked", and a committed entry was delivered (the
    final re-check of issue 16)."""
    import os

    if os.geteuid() != 0:
        pytest.skip("needs root to give the checkout to another user")
    plan = failed_plan
    entry = committed_entry(plan, 0.99)
    fresh_checkout_with(plan, str(entry.relative_to(plan.parent)))
    subprocess.run(["chown", "-R", "65534:65534", str(plan.parent)], check=True)
    before = len(journal_for(plan).stored_results())
    code, _, err = run(capsys, "sync", plan)
    assert code == 1 and "is tracked by git, so it was not delivered" in err
    assert entry.is_file() and len(journal_for(plan).stored_results()) == before


def test_an_outbox_behind_a_committed_link_to_anywhere_is_not_used(
    failed_plan: Path, capsys: Capsys, tmp_path: Path
) -> None:
    """A committed `.mlplan/outbox -> /somewhere/else` was delivered, and emptied, though git
    tracks nothing there: the link came with the checkout, and so did what it shows."""
    plan = failed_plan
    home = plan.parent / ".mlplan"
    entry = committed_entry(plan, 0.99)
    evil = tmp_path / "evil"
    evil.mkdir()
    entry.rename(evil / entry.name)
    shutil.rmtree(home / "outbox")
    (home / "outbox").symlink_to(evil)
    fresh_checkout_with(plan, ".mlplan/outbox")
    code, _, err = run(capsys, "sync", plan)
    assert code == 1 and "is tracked by git, so it was not delivered" in err
    assert (evil / entry.name).is_file()


def test_git_that_cannot_answer_is_said_not_taken_for_nothing_tracked(
    failed_plan: Path, capsys: Capsys
) -> None:
    plan = failed_plan
    fresh_checkout_with(plan)
    (plan.parent / ".git" / "index").write_bytes(b"not an index")
    code, _, err = run(capsys, "status", plan)
    assert code == 1 and "could not ask git which files" in err and "bug" not in err
