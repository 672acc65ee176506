"""What many test modules share: the plan every tracking test starts from, the ways to call the
command line in-process, and the check that a database service is there.

Imported as ``helpers`` (pytest puts tests/ on sys.path for its conftest); the fixtures built on
these live in conftest.py.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlplan._cli import main

__all__ = [
    "BASELINES_MODULE",
    "PLAN",
    "REPO",
    "SERVICES",
    "TODAY",
    "Capsys",
    "MakePlan",
    "Service",
    "cli",
    "edited",
    "free_port",
    "require_service",
    "run",
]

REPO = Path(__file__).resolve().parent.parent

# The one "today" of the test suite, and mlplan's clock while it runs (conftest exports it as
# MLPLAN_TODAY, so subprocesses see it too). No test reads the calendar: dates in plans are
# written relative to TODAY, or a test passes its own fixed dates everywhere. CI runs the fast
# tier a second time with MLPLAN_TODAY years ahead, so a test that depends on the calendar
# fails on the day it is written (issue 14).
TODAY = dt.date.fromisoformat(os.environ.get("MLPLAN_TODAY") or "2026-11-25")
MakePlan = Callable[..., Path]
Capsys = pytest.CaptureFixture[str]


def run(capsys: Capsys, *argv: object) -> tuple[int, str, str]:
    """``mlplan ARGV`` in-process: the exit code, and the stdout and stderr of this call only
    (what earlier calls printed is dropped first)."""
    capsys.readouterr()
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def cli(*args: object) -> int:
    """``mlplan ARGS`` in-process, for tests that only need the exit code."""
    return main([str(arg) for arg in args])


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (for a server to start on, or a dead address)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def edited(path: Path, old: str, new: str) -> Path:
    """Replace the first ``old`` in the file by ``new``; ``old`` must be there."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


# --- database services --------------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    name: str
    host: str
    port: int
    start: str  # the command that starts it, printed when it is not there


SERVICES = {
    "postgres": Service(
        "PostgreSQL",
        "127.0.0.1",
        5432,
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    ),
    "mariadb": Service(
        "MariaDB",
        "127.0.0.1",
        3306,
        "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd",
    ),
}
REQUIRE_SERVICES = "MLPLAN_REQUIRE_SERVICES"


def _accepts_connections(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_service(
    name: str, *, host: str | None = None, port: int | None = None, start: str | None = None
) -> Service:
    """Skip the calling test unless the service accepts connections, and say how to start it.

    ``name`` is a key of SERVICES ("postgres", "mariadb"), or any name when ``host``, ``port``
    and ``start`` are given. With MLPLAN_REQUIRE_SERVICES=1 (as .ci/run sets for every tier but
    the fast one) a missing service fails the test instead: a database that CI forgot to start
    must not pass as a green run of skips.
    """
    known = SERVICES.get(name)
    if known is None and (host is None or port is None or start is None):
        raise ValueError(f"unknown service {name!r}: pass host, port and start")
    service = Service(
        known.name if known else name,
        host or (known.host if known else ""),
        port or (known.port if known else 0),
        start or (known.start if known else ""),
    )
    if _accepts_connections(service.host, service.port):
        return service
    message = (
        f"{service.name} is not accepting connections on {service.host}:{service.port}; "
        f"start it with: {service.start}"
    )
    if os.environ.get(REQUIRE_SERVICES) == "1":
        pytest.fail(f"{message} ({REQUIRE_SERVICES}=1 makes this a failure)", pytrace=False)
    pytest.skip(message)


# --- the plan most tests start from ------------------------------------------------------------

# H1 runs from 5 days before TODAY for 10 days (5 left); H2 starts 6 days after TODAY.
_PLAN = """\
schema_version: 1
id: {plan_id}
title: Churn model
owners: [Ada]
problem:
  statement: Customers leave without warning.
  audience: The retention team.
  why_now: Churn doubled this quarter.
goals:
  software: [A weekly churn score per customer.]
  metrics:
    - statement: Improve recall by 5% on churners without losing more than 2% elsewhere.
      metric: recall
      target: "5%"
      segment: customers who churn
      guardrail: {{metrics: "recall.*", max_drop: "2%"}}
  trade_offs: [Precision may drop by up to 5%.]
metrics:
  - {{key: recall, direction: higher, bounds: [0, 1], description: Share of churners found.}}
  - {{key: recall.loyal, direction: higher, bounds: [0, 1], description: Loyal recall.}}
  - {{key: latency_ms, direction: lower, unit: ms, description: Scoring time.}}
experiment:
  data_motivation: Each churner costs 300 EUR a year.
  baselines:
    - id: B1
      description: Flag customers whose usage fell by half.
      entry_point: churn_baselines:usage_drop
      exact: true
    - id: B2
      description: Flag nobody.
  hypotheses:
    - id: H1
      statement: Gradient boosting improves recall over B1 by 5%.
      method: Train gradient boosting on usage features.
      metrics: [recall, recall.loyal]
      baselines: [B1]
      success_criteria:
        - {{metric: recall, better_than: B1, by: "5%"}}
      guardrails:
        - {{metrics: "recall.*", against: B1, max_drop: "2%"}}
      timebox: {{days: 10, start: H1_START}}
      on_success: {{description: Put it in production., then: ship}}
      on_failure: {{description: Try more features., then: H2}}
    - id: H2
      statement: Adding support tickets reaches recall 0.8.
      method: Join ticket counts.
      metrics: [recall, latency_ms]
      baselines: [B1, B2]
      success_criteria:
        - {{metric: recall, at_least: 0.8}}
        - {{metric: latency_ms, at_most: 50}}
      timebox: {{days: 5, start: H2_START}}
      on_success: {{description: Ship it., then: ship}}
      on_failure: {{description: Stop., then: stop}}
software_design:
  crawl: Score offline in a notebook.
  walk: A batch job writing scores to the warehouse.
  run: A feature store and daily retraining.
considerations:
  launch_criteria: [Recall above B1 by 5% on two consecutive weeks.]
  what_could_go_wrong:
    products_affected: The retention e-mails.
    customer_impact: Loyal customers get needless offers.
    monitoring: Weekly recall against realised churn.
    rollback: Switch back to the B1 rule.
  security: Scores are internal only.
  privacy: No personal data leaves the warehouse.
"""

PLAN = _PLAN.replace("H1_START", (TODAY - dt.timedelta(days=5)).isoformat()).replace(
    "H2_START", (TODAY + dt.timedelta(days=6)).isoformat()
)

BASELINES_MODULE = """\
def usage_drop():
    return {"recall": 0.6, "recall.loyal": 0.9, "unrelated": 1.0}
"""
