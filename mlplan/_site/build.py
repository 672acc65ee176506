"""`mlplan site`: every plan's hypotheses and verdicts at a glance, as a static site.

The pages work opened from disk (``file://``) and from any static host: what the index filters
and sorts is in the page itself (``fetch()`` of a local file fails in a browser), the pictures
are SVG files drawn by :mod:`mlplan._site.svg`, and the only script is a few lines in the index.
Plan text reaches HTML only through Jinja's autoescape or the design doc's own escaping
(mlplan._report.doc), and SVG only through XML escaping.

A rebuild re-renders a plan's page only when its plan file, its results or the day changed:
``manifest.json`` in the output folder keeps, per plan file, a key over those and the rows the
index shows. For the embedded store the key is checked with one SQL query on the store's
revision tag (the raw fast path in mlplan._record.store.embedded), so an unchanged plan costs a
file hash and that query. A plan drawn reads its results from the embedded store with plain SQL
too (MLflow neither imported nor opened, no local copy written); a server store's plans are read
through MLflow's client and the local copy of results.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import urllib.parse
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from mlplan import _clock
from mlplan._files import STORE_DIR, write_atomically
from mlplan._resources import templates_dir
from mlplan.errors import MlplanError, OutputError

# Only for types: an unchanged rebuild parses no plan and judges nothing, so it imports
# neither pydantic's models nor the judge (with numpy and scipy).
if TYPE_CHECKING:
    from mlplan._judge.results import Result
    from mlplan._judge.verdicts import Verdict
    from mlplan._plan.models import Decision, Plan

__all__ = ["SiteReport", "build_site", "find_plans"]

MANIFEST = "manifest.json"
# Part of every key: a page drawn by another version of this code is drawn again (raise it
# whenever svg.py or what a page shows changes; the templates are hashed on their own).
_FORMAT = "site-4"
# Each hypothesis counts under one state (the first five) and, besides, under the flags
# overdue and failed without a decision: the states add up to the rows shown.
_STATES = ("succeeded", "failed", "inconclusive", "running", "pending")
_SUMMARY = (*_STATES, "overdue", "failed_undecided")


@dataclass(frozen=True)
class SiteReport:
    """What a build did: the index, the plan pages drawn and those kept as they were, and the
    plan files that could not be read (each with its message)."""

    index: Path
    rendered: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)


# ------------------------------------------------------------------------------ finding plans


def _looks_like_plan(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as stream:
            head = stream.read(4096)
    except OSError:
        return False
    return re.search(r"^schema_version:", head, re.MULTILINE) is not None


def find_plans(paths: Iterable[str | Path]) -> list[Path]:
    """Each plan file named, and every YAML file under each folder named that starts like a
    plan (a top-level ``schema_version:``); mlplan's own and hidden folders are skipped."""
    found: dict[Path, None] = {}
    for given in paths:
        path = Path(given)
        if path.is_file():
            found[path.resolve()] = None
        elif path.is_dir():
            for root, folders, files in os.walk(path):
                folders[:] = sorted(f for f in folders if not f.startswith(".") and f != STORE_DIR)
                for name in sorted(files):
                    candidate = Path(root) / name
                    if name.endswith((".yaml", ".yml")) and _looks_like_plan(candidate):
                        found[candidate.resolve()] = None
        else:
            raise OutputError(f"{path}: no such plan file or folder")
    return list(found)


# ---------------------------------------------------------------------------------- building


def build_site(
    paths: Sequence[str | Path],
    output: str | Path,
    *,
    tracking_uri: str | None = None,
    today: dt.date | None = None,
) -> SiteReport:
    """Build (or bring up to date) the site for every plan under ``paths`` in ``output``."""
    out = Path(output)
    _check_output_folder(out)
    try:
        return _build(out, paths, tracking_uri, today or _clock.today())
    except OutputError:
        raise
    except OSError as error:  # the output folder, not a plan (those are problems, per plan)
        where = error.filename or out
        raise OutputError(
            f"could not write the site in {out}: {where}: {error.strerror or error}; name a "
            "folder this user can write"
        ) from None


def _build(
    out: Path, paths: Sequence[str | Path], tracking_uri: str | None, today: dt.date
) -> SiteReport:
    plan_files = find_plans(paths)
    manifest = _read_manifest(out)
    entries: dict[str, dict[str, Any]] = {}
    rendered: list[str] = []
    unchanged: list[str] = []
    problems: list[str] = []
    pages = _Pages(out, tracking_uri, today)
    for plan_file in plan_files:
        name = str(plan_file)
        try:
            entry, drawn = pages.plan(plan_file, manifest.get(name))
        except MlplanError as error:
            problems.append(f"{plan_file}: {error}")
            continue
        entries[name] = entry
        (rendered if drawn else unchanged).append(entry["id"])
    _remove_stale_pages(out, manifest, entries)
    summary = pages.index(entries, problems)
    write_atomically(out / MANIFEST, json.dumps({"format": _FORMAT, "plans": entries}, indent=1))
    return SiteReport(out / "index.html", rendered, unchanged, problems, summary)


def _check_output_folder(out: Path) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise OutputError(f"{out} is not a folder; give the folder to write the site in")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise OutputError(
            f"{out} holds files and no {MANIFEST}: not a site mlplan built, so nothing there is "
            "replaced; name a new or empty folder"
        )


def _read_manifest(out: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        return {}
    plans = data.get("plans")
    return plans if isinstance(plans, dict) else {}


def _remove_stale_pages(
    out: Path, before: dict[str, dict[str, Any]], now: dict[str, dict[str, Any]]
) -> None:
    """A plan no longer found loses its page: a site must not show a plan that is gone."""
    kept = {entry["slug"] for entry in now.values()}
    plans = (out / "plans").resolve()
    for entry in before.values():
        slug = str(entry.get("slug", ""))
        folder = (plans / slug).resolve()
        if slug and slug not in kept and folder.parent == plans and folder.is_dir():
            shutil.rmtree(folder)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Pages:
    def __init__(self, out: Path, tracking_uri: str | None, today: dt.date) -> None:
        self.out = out
        self.tracking_uri = tracking_uri
        self.today = today
        self.templates = _environment()
        self.slugs: set[str] = set()
        # Part of every key: pages drawn from other templates are drawn again.
        templates = sorted((templates_dir() / "site").glob("*.j2"))
        self.look = _sha256(b"".join([_FORMAT.encode(), *(t.read_bytes() for t in templates)]))

    # -- one plan ----------------------------------------------------------------------------

    def plan(self, plan_file: Path, before: dict[str, Any] | None) -> tuple[dict[str, Any], bool]:
        """The plan's index entry, and whether its page was drawn (False: it was current)."""
        try:
            text = plan_file.read_bytes()
        except OSError as error:
            raise OutputError(f"cannot read it ({error.strerror or error})") from None
        file_hash = _sha256(text)
        if before is not None and before.get("file") == file_hash:
            quick = self._quick_key(plan_file, str(before["id"]), file_hash)
            if quick is not None and quick == before.get("key") and self._page_exists(before):
                self.slugs.add(str(before["slug"]))
                return before, False
        return self._draw(plan_file, file_hash, before)

    def _page_exists(self, entry: dict[str, Any]) -> bool:
        return (self.out / "plans" / str(entry["slug"]) / "index.html").is_file()

    def _quick_key(self, plan_file: Path, plan_id: str, file_hash: str) -> str | None:
        """The key from the plan file and the embedded store's revision, read with one query
        (no plan parsed, no MLflow); None when only reading the results can tell."""
        from mlplan._record.location import locate_store

        location = locate_store(plan_file, self.tracking_uri)
        if not location.embedded:
            return None
        if not location.database.is_file():
            return self._key(file_hash, "no store")
        from mlplan._record.store import REVISION_TAG
        from mlplan._record.store.embedded import copy_revision

        found = copy_revision(location.database, f"mlplan/{plan_id}", REVISION_TAG)
        return None if found is None else self._key(file_hash, f"revision {found[1]}")

    def _read_key(self, plan_file: Path, plan_id: str, file_hash: str, read: _Read) -> str:
        """The key of the results just read: the embedded store's revision read in the same
        transaction as them (a write in between cannot pair a new revision with old results),
        else as _quick_key finds it, else a hash of the results."""
        if read.revision_tag:
            return self._key(file_hash, f"revision {read.revision_tag}")
        quick = self._quick_key(plan_file, plan_id, file_hash)
        return quick or self._key(file_hash, "results " + _results_hash(read.results))

    def _key(self, file_hash: str, store: str) -> str:
        return _sha256(f"{self.look}\n{file_hash}\n{store}\n{self.today}".encode())

    def _slug(self, plan: Plan, plan_file: Path, before: dict[str, Any] | None) -> str:
        slug = (
            str(before["slug"]) if before is not None and before.get("id") == plan.id else plan.id
        )
        if slug in self.slugs:  # two plan files with one id: the second is told apart by path
            slug = f"{plan.id}-{_sha256(str(plan_file).encode())[:8]}"
        self.slugs.add(slug)
        return slug

    def _draw(
        self, plan_file: Path, file_hash: str, before: dict[str, Any] | None
    ) -> tuple[dict[str, Any], bool]:
        from mlplan._plan.load import load_plan
        from mlplan._record.journal import Journal

        journal = Journal(load_plan(plan_file), self.tracking_uri)
        plan = journal.plan
        read = _read(journal, self.today)
        key = self._read_key(plan_file, plan.id, file_hash, read)
        if before is not None and before.get("key") == key and self._page_exists(before):
            self.slugs.add(str(before["slug"]))
            return before, False
        slug = self._slug(plan, plan_file, before)
        rows = _rows(plan, read, slug)
        entry = {
            "id": plan.id,
            "title": plan.title,
            "slug": slug,
            "file": file_hash,
            "key": key,
            "revision": read.revision,
            "store": read.store,
            "problem": read.problem,
            "rows": rows,
        }
        self._write_plan_page(plan, plan_file, read, entry)
        return entry, True

    def _write_plan_page(
        self, plan: Plan, plan_file: Path, read: _Read, entry: dict[str, Any]
    ) -> None:
        from mlplan._site.svg import decision_graph_svg, evidence_svg, forest_svg

        folder = self.out / "plans" / str(entry["slug"])
        statuses: dict[str, str] = {v.hypothesis: v.status for v in read.verdicts}
        write_atomically(folder / "graph.svg", decision_graph_svg(plan, statuses))
        evidence: dict[str, str] = {}
        forests: dict[str, str] = {}
        for number, verdict in enumerate(read.verdicts):
            if verdict.checks and verdict.runs:
                name = f"evidence-{number}.svg"  # ids may hold characters a file name must not
                write_atomically(folder / name, evidence_svg(verdict))
                evidence[verdict.hypothesis] = name
            forest = forest_svg(verdict)
            if forest is not None:
                write_atomically(folder / f"forest-{number}.svg", forest)
                forests[verdict.hypothesis] = f"forest-{number}.svg"
        page = self.templates.get_template("site/plan.html.j2").render(
            plan=plan,
            plan_file=plan_file.name,
            entry=entry,
            stamp=_stamp(self.today, [entry]),
            doc=_doc_html(plan, read, self.today),
            evidence=evidence,
            forests=forests,
            runs=_run_links(read),
            # MLflow 3.17 opens an experiment on its GenAI overview unless told otherwise
            # (checked in a browser: tests/browser/test_mlflow_ui.py).
            experiment=f"{read.experiment_url}?workflowType=machine_learning"
            if read.experiment_url
            else "",
            verdicts=read.verdicts,
        )
        write_atomically(folder / "index.html", page)

    # -- the index ---------------------------------------------------------------------------

    def index(self, entries: dict[str, dict[str, Any]], problems: list[str]) -> dict[str, int]:
        labels = _labels(entries)
        rows = [
            {**row, "label": labels[entry["slug"]]}
            for entry in entries.values()
            for row in entry["rows"]
        ]
        rows.sort(key=lambda r: (r["label"], r["order"]))
        summary = dict.fromkeys(_SUMMARY, 0)
        for row in rows:
            for name in row["counts"]:
                summary[name] += 1
        page = self.templates.get_template("site/index.html.j2").render(
            rows=rows,
            plans=sorted((label, slug) for slug, label in labels.items()),
            statuses=sorted({r["status"] for r in rows}),
            summary=summary,
            stamp=_stamp(self.today, list(entries.values())),
            problems=problems,
        )
        write_atomically(self.out / "index.html", page)
        return summary


# ------------------------------------------------------------------------- reading results


@dataclass(frozen=True)
class _Read:
    results: list[Result]
    verdicts: list[Verdict]
    review: Any  # FrozenReview
    revision: str
    store: str
    problem: str = ""
    experiment_url: str = ""
    revision_tag: str | None = None  # the embedded store's, when read with the results


def _read(journal: Any, today: dt.date) -> _Read:
    """The plan's results (see _results), judged."""
    from mlplan._judge.frozen import frozen_review
    from mlplan._judge.verdicts import judge
    from mlplan.errors import TrackingError

    location = journal.location
    results: list[Result] = []
    revision_tag: str | None = None
    problem = ""
    if location.exists():
        try:
            results, revision_tag = _results(journal)
        except TrackingError as error:
            problem = f"{location.describe_for_doc()} could not be read ({error})"
    verdicts = judge(journal.plan, results, today)
    review = frozen_review(journal.plan, results, verdicts, today)
    revision, url = _revision_and_url(journal, results, revision_tag)
    store = location.describe_for_doc()
    return _Read(results, verdicts, review, revision, store, problem, url, revision_tag)


def _results(journal: Any) -> tuple[list[Result], str | None]:
    """The plan's results as journal.results() reads them, and the embedded store's revision
    tag when it was read with them.

    An embedded store is read with plain SQL (mlplan._record.store.read_embedded): opening
    MLflow's store costs ~1 s of CPU per plan and importing MLflow ~4 s, which made a first
    build of 50 plans take 75 s (issue 19); and nothing is written, not even a local copy of
    the results: building a site only reads. The journal's own path (MLflow's client and the
    local copy) remains for a server and for a store the fast path declines (a schema revision
    it does not know, no experiment yet, a locked file).
    """
    if journal.location.embedded:
        from mlplan._judge.frozen import carried_over
        from mlplan._record.store import read_embedded

        # What waits in the outbox is delivered first, as journal.results() does (with
        # nothing waiting, that is one folder listing and MLflow stays closed).
        journal.sync()
        found = read_embedded(journal.plan, journal.location)
        if found is not None:
            return carried_over(journal.plan, found.results), found.revision
    return journal.results(), None


def _revision_and_url(
    journal: Any, results: list[Result], revision_tag: str | None
) -> tuple[str, str]:
    location = journal.location
    if not location.exists() or not results:
        return "none", ""
    if location.embedded and revision_tag is not None:
        return revision_tag or _results_hash(results)[:12], ""
    if location.embedded:
        from mlplan._record.store import REVISION_TAG
        from mlplan._record.store.embedded import copy_revision

        found = copy_revision(location.database, f"mlplan/{journal.plan.id}", REVISION_TAG)
        return (found[1] if found else _results_hash(results)[:12]), ""
    if not location.remote:
        return _results_hash(results)[:12], ""
    # A server: the experiment's page in MLflow's UI, opened on its runs (README: "MLflow's UI").
    experiment = journal.store.experiment_ref()
    base = urllib.parse.urlsplit(location.uri)
    host = base.hostname or ""
    netloc = host + (f":{base.port}" if base.port else "")  # never the password in a link
    root = urllib.parse.urlunsplit((base.scheme, netloc, base.path.rstrip("/"), "", ""))
    return _results_hash(results)[:12], f"{root}/#/experiments/{experiment}"


def _results_hash(results: Sequence[Result]) -> str:
    plain = sorted(json.dumps(dataclasses.asdict(r), sort_keys=True, default=str) for r in results)
    return _sha256("\n".join(plain).encode())


# ------------------------------------------------------------------------------- the rows


def _rows(plan: Plan, read: _Read, slug: str) -> list[dict[str, Any]]:
    owner = ", ".join(plan.owners) or "—"
    decisions: dict[str, Decision] = {}
    for recorded in sorted(plan.experiment_log.decisions, key=lambda d: d.date):
        decisions[recorded.hypothesis] = recorded  # the last one per hypothesis
    drifted = {id(d.decision): d for d in read.review.drift}
    rows = []
    for order, verdict in enumerate(read.verdicts):
        hypothesis = plan.hypothesis(verdict.hypothesis)
        decision = decisions.get(verdict.hypothesis)
        drift = drifted.get(id(decision)) if decision is not None else None
        planned = verdict.runs_needed or hypothesis.runs or hypothesis.min_runs
        planned = planned or plan.experiment.runs or plan.experiment.min_runs
        overdue = verdict.status == "overdue"
        undecided_failure = verdict.status == "failed" and decision is None
        counts = [_state(verdict.status, verdict.runs)]
        counts += ["overdue"] if overdue else []
        counts += ["failed_undecided"] if undecided_failure else []
        rows.append(
            {
                "plan": plan.id,
                "slug": slug,
                "order": order,
                "owner": owner,
                "hypothesis": verdict.hypothesis,
                "statement": hypothesis.statement,
                "status": verdict.status,
                "kind": "confirmatory" if verdict.confirmatory else "exploratory",
                "runs": verdict.runs,
                "planned": planned,
                "deadline": verdict.deadline.isoformat(),
                "days_left": verdict.days_left,
                "overdue": overdue,
                "decision": f"{decision.date}: {decision.decision}" if decision else "",
                "changed": (
                    f"now {drift.now.status} (was {drift.then.status})" if drift is not None else ""
                ),
                "undecided_failure": undecided_failure,
                "counts": counts,
            }
        )
    return rows


def _labels(entries: dict[str, dict[str, Any]]) -> dict[str, str]:
    """{slug: what the index calls the plan}: its id, and where two plan files share an id,
    the id with each file's folder and name, so that the filter and the rows tell them apart."""
    ids = Counter(str(entry["id"]) for entry in entries.values())
    labels = {}
    for name, entry in entries.items():
        plan_id, path = str(entry["id"]), Path(name)
        shared = ids[plan_id] > 1
        labels[str(entry["slug"])] = (
            f"{plan_id} ({path.parent.name}/{path.name})" if shared else plan_id
        )
    return labels


def _state(status: str, runs: int) -> str:
    """The one state a hypothesis counts under in the summary: a pending one with results is
    running (started, not decided); blocked waits for a baseline, so it is pending; an overdue
    one is still in the state its results put it in (here: running or pending)."""
    if status in ("succeeded", "failed", "inconclusive", "running"):
        return status
    return "running" if runs else "pending"


def _stamp(today: dt.date, entries: list[dict[str, Any]]) -> str:
    revisions = sorted({str(e.get("revision", "none")) for e in entries})
    if len(revisions) == 1:
        return f"as of {today}, store revision {revisions[0]}"
    digest = _sha256("\n".join(revisions).encode())[:12]
    return f"as of {today}, store revisions digest {digest} ({len(entries)} plans)"


def _run_links(read: _Read) -> dict[str, list[tuple[str, str]]]:
    """Each hypothesis's runs as (label, MLflow URL) when the store is a server."""
    if not read.experiment_url:
        return {}
    links: dict[str, list[tuple[str, str]]] = {}
    for result in read.results:
        if result.kind == "hypothesis":
            url = f"{read.experiment_url}/runs/{urllib.parse.quote(result.run_id)}"
            links.setdefault(result.subject, []).append((result.run_id[:8], url))
    return links


# --------------------------------------------------------------------------- the design doc

_MERMAID = re.compile(r'<pre><code class="language-mermaid">.*?</code></pre>', re.DOTALL)
_GRAPH_IMAGE = '<p><img src="graph.svg" alt="The decision graph" class="graph"></p>'


def _doc_html(plan: Plan, read: _Read, today: dt.date) -> str:
    """The design doc (mlplan._report.doc) as HTML, its flowchart replaced by the SVG graph.

    Raw HTML is allowed through only because the doc's Markdown escapes every piece of plan
    text itself (``cell``/``text``); the only tags in it are the template's own.
    """
    from mlplan._report.doc import LogView, render_markdown
    from mlplan._site.markdown import markdown_html

    log = LogView(
        available=True,
        store=read.store,
        results=read.results,
        verdicts=read.verdicts,
        as_of=today,
        review=read.review,
    )
    markdown = render_markdown(plan, log)
    html = markdown_html(markdown)
    return _MERMAID.sub(_GRAPH_IMAGE, html, count=1)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
