"""The locks' documented order (mlplan/_record/locks.py) holds in the code.

Every lock is made in that one module; the order its docstring states is the order of ORDER;
and a real run (a result waiting in the outbox, a new result logged, which first syncs the
waiting one, then a decision, which reads the results, and so first delivers another waiting
one, under the plan's lock) only ever takes
a lock while holding locks that rank before it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from helpers import REPO, MakePlan

import mlplan
from mlplan._plan.load import load_plan
from mlplan._record import locks
from mlplan._record.journal import Journal

Observed = list[tuple[str, tuple[str, ...]]]


def test_every_file_lock_is_made_in_the_locks_module() -> None:
    makers = []
    for path in sorted((REPO / "mlplan").rglob("*.py")):
        if path == REPO / "mlplan" / "_record" / "locks.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "filelock":
                makers.append(f"{path.relative_to(REPO)}:{node.lineno}")
            if isinstance(node, ast.Import) and any(a.name == "filelock" for a in node.names):
                makers.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert makers == []


def test_the_docstring_states_the_order_the_code_checks() -> None:
    doc = locks.__doc__ or ""
    numbered = re.findall(r"^(\d)\. ``(\w+)_lock\(", doc, flags=re.MULTILINE)
    assert [name for _, name in numbered] == list(locks.ORDER)
    assert [int(n) for n, _ in numbered] == list(range(1, len(locks.ORDER) + 1))


def _respects_order(name: str, held: tuple[str, ...]) -> bool:
    rank = locks.ORDER.index(name)
    for outer in held:
        if locks.ORDER.index(outer) > rank:
            return False
        # The same lock again: only the store lock is re-entrant (one object per store).
        if outer == name and name != "store":
            return False
    return True


@pytest.fixture
def observed(monkeypatch: pytest.MonkeyPatch) -> Observed:
    seen: Observed = []
    monkeypatch.setattr(locks, "observer", lambda name, held: seen.append((name, held)))
    return seen


def test_a_write_a_sync_and_a_decision_nest_the_locks_in_order(
    make_plan: MakePlan, observed: Observed
) -> None:
    plan = make_plan()
    assert mlplan.record_result(
        plan, baseline="B1", metrics={"recall": 0.6}
    ).run_id  # creates the store
    journal = Journal(load_plan(plan))
    waiting = journal.submission(kind="baseline", subject="B1", metrics={"recall": 0.61})
    journal.outbox.put(journal.plan.id, waiting, journal.location.destination, "was offline")

    mlplan.record_result(plan, hypothesis="H1", metrics={"recall": 0.7})  # syncs `waiting` first
    later = journal.submission(kind="hypothesis", subject="H1", metrics={"recall": 0.72})
    journal.outbox.put(journal.plan.id, later, journal.location.destination, "was offline")
    mlplan.decide(plan, "H1", "Keep going.")  # reads, so first delivers, `later`

    wrong = [(name, held) for name, held in observed if not _respects_order(name, held)]
    assert wrong == []
    nestings = set(observed)
    assert ("submission", ()) in nestings  # the sync and the write, each on its own
    assert ("store", ("submission",)) in nestings  # delivering writes the store
    assert ("plan", ()) in nestings
    assert ("submission", ("plan",)) in nestings
    assert ("store", ("plan", "submission")) in nestings
    assert locks.held() == ()
    assert not list(journal.location.outbox.glob("*.json"))


def test_a_submission_locked_elsewhere_is_skipped_not_waited_for(tmp_path: Path) -> None:
    with (
        locks.submission_lock(tmp_path, "abc"),
        pytest.raises(locks.LockTakenError),
        locks.submission_lock(tmp_path, "abc"),
    ):
        pass
    with locks.submission_lock(tmp_path, "abc"):  # released: free again
        assert locks.held() == ("submission",)


def test_the_store_lock_is_reentrant_through_one_object(tmp_path: Path) -> None:
    lock = locks.store_lock(tmp_path)
    with lock(), lock():
        assert locks.held() == ("store", "store")
    assert locks.held() == ()
