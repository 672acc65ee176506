"""Verdicts written back to MLflow as experiment tags, so its UI and search show them.

Only ``mlplan publish`` writes these: ``status`` judges with whatever plan is on the reader's
disk (perhaps a teammate's uncommitted edit) and must not change what everyone sees. Each
verdict is stamped with the criteria it was judged by and the git commit of the plan, so a
reader can tell which version of the plan said so.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Sequence
from pathlib import Path

from mlplan._judge.verdicts import Verdict, criteria_fingerprint
from mlplan._plan.models import Plan

__all__ = ["Published", "experiment_note", "git_commit", "verdict_tags"]

PREFIX = "mlplan."
VERDICT = f"{PREFIX}verdict."
EVIDENCE_LIMIT = 1_000  # a tag shown in a table cell; the full reasoning is in `status`
GIT_TIMEOUT_S = 10


class Published(dict[str, str]):
    """The tags ``publish`` wrote to the experiment, name to value (a dict, as it always was);
    ``verdicts`` reads the verdicts back from them, hypothesis to status, in plan order."""

    @property
    def verdicts(self) -> dict[str, str]:
        return {k.removeprefix(VERDICT): v for k, v in self.items() if k.startswith(VERDICT)}


def verdict_tags(
    plan: Plan, verdicts: Sequence[Verdict], commit: str, today: dt.date, site_url: str = ""
) -> Published:
    """``mlplan.verdict.<H>`` (the status), ``mlplan.evidence.<H>`` and ``mlplan.criteria.<H>``
    per hypothesis, and when and from which commit they were published; the experiment's
    description (``mlflow.note.content``) with the verdicts on its first line."""
    tags = Published(
        {
            NOTE_TAG: experiment_note(plan, verdicts, today, site_url),
            f"{PREFIX}published.on": today.isoformat(),
            f"{PREFIX}published.commit": commit or "none (the plan is not in a git repository)",
        }
    )
    for verdict in verdicts:
        hypothesis = plan.hypothesis(verdict.hypothesis)
        evidence = f"{verdict.reason} ({verdict.runs} runs)"
        if len(evidence) > EVIDENCE_LIMIT:
            evidence = evidence[: EVIDENCE_LIMIT - 30] + " … (cut by mlplan)"
        tags[f"{VERDICT}{verdict.hypothesis}"] = verdict.status
        tags[f"{PREFIX}evidence.{verdict.hypothesis}"] = evidence
        tags[f"{PREFIX}criteria.{verdict.hypothesis}"] = criteria_fingerprint(plan, hypothesis)
    return tags


# MLflow's UI shows no experiment tag on any page (3.17.2, checked in a browser: issue 19), but
# it shows the description above the runs table, its first line even when folded.
NOTE_TAG = "mlflow.note.content"


def experiment_note(
    plan: Plan, verdicts: Sequence[Verdict], today: dt.date, site_url: str = ""
) -> str:
    """The experiment's description: the verdicts on the first line, one line per hypothesis
    with its reason, the plan's problem, and a link to the plan's page on the site if any."""
    from mlplan._record.store.runs import EXPERIMENT_NOTE_LIMIT, clip

    summary = ", ".join(f"{v.hypothesis} {v.status}" for v in verdicts)
    lines = [f"**{plan.title}**: {summary} (mlplan publish, {today})", ""]
    lines += [f"- **{v.hypothesis}** {v.status}: {v.reason} ({v.runs} runs)" for v in verdicts]
    lines += ["", plan.problem.statement]
    if site_url:
        lines += ["", f"The plan, its evidence and decisions: {site_url}"]
    lines += ["", "Managed by mlplan: every run is a result for a hypothesis or a baseline."]
    return clip("\n".join(lines), EXPERIMENT_NOTE_LIMIT)


def git_commit(plan_file: Path) -> str:
    """The commit the plan file is at, marked when the file has uncommitted changes; "" when
    the plan is not in a git repository (or git is not installed)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=plan_file.parent,
            capture_output=True,
            text=True,
            check=True,
            timeout=GIT_TIMEOUT_S,
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        changed = git("status", "--porcelain", "--", plan_file.name)
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"{commit} (plan file modified)" if changed else commit
