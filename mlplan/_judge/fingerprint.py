"""The criteria text stamped on every result, its fingerprint, and its inverse.

Every setting that decides a verdict is one row of ``SETTINGS``: how it is read from the plan
into the text, and where it goes back when a plan is rebuilt from an old text (to judge under
the original criteria). Both directions read the one table, so a setting cannot be stamped and
then forgotten on the way back.

Versioning: the text carries ``version``, and a stamp is always compared under its own
version's rows: a result stamped v2 is checked against the plan's v2 text, so a plan that did
not change is not flagged merely because a later version covers more (a stamp without a version
is compared by the first version's rules, ``v1_text``). Within a version, a setting added later
gets a ``default`` and is written only when it differs from it, so plans that do not use it
keep their text and fingerprint (issue 14). v3 (issue 15) stamps what a family is by its
members, not its name, and the decision-graph edges into and out of the hypothesis: regrouping
or rewiring after results is a change of criteria like any other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mlplan._judge.settings import settings_for, used_metrics
from mlplan._plan import graph
from mlplan._plan.amendments import change_lines, setting_changes
from mlplan._plan.keys import canonical
from mlplan._plan.models import Hypothesis, Metric, Plan
from mlplan._plan.rules import reference_problems

__all__ = [
    "FINGERPRINT_VERSION",
    "SETTINGS",
    "VERSIONS",
    "Setting",
    "change_lines",
    "criteria_fingerprint",
    "criteria_text",
    "fingerprint_as",
    "plan_with_criteria",
    "rebuilt",
    "setting_changes",
    "v1_text",
    "with_current_ids",
]

FINGERPRINT_VERSION = "v3"
VERSIONS = ("v2", "v3")  # in order; a stamp names one of them
Place = Literal["hypothesis", "design", "metrics", "baselines", "graph", "family", "reported"]
_ALWAYS = object()  # always in the text, as stamps of its versions were computed


@dataclass(frozen=True)
class Setting:
    """One verdict-relevant setting. ``read`` gives its value in the text; ``place`` says where
    it goes back in a plan's data; ``default`` (for settings added after v2) is the value at
    which it is left out of the text."""

    key: str
    read: Callable[[Plan, Hypothesis], Any]
    place: Place
    default: Any = _ALWAYS
    since: str = "v2"
    until: str | None = None  # the first version without it

    def in_version(self, version: str) -> bool:
        position = VERSIONS.index(version)
        ended = self.until is not None and position >= VERSIONS.index(self.until)
        return VERSIONS.index(self.since) <= position and not ended


def _dumped(items: Any) -> list[Any]:
    return [item.model_dump(mode="json", exclude_none=True) for item in items]


def _criteria(hypothesis: Hypothesis) -> list[Any]:
    """The success criteria as stamped. ``expected`` only plans runs and never decides a
    verdict: left out, so restating it after results is no change of criteria."""
    return [
        c.model_dump(mode="json", exclude_none=True, exclude={"expected"})
        for c in hypothesis.success_criteria
    ]


def _metrics_v2(plan: Plan, hypothesis: Hypothesis) -> dict[str, Any]:
    return {
        m.key: {"direction": m.direction, "bounds": m.bounds, "exact": m.exact}
        for m in used_metrics(plan, hypothesis)
    }


def _metrics(plan: Plan, hypothesis: Hypothesis) -> dict[str, Any]:
    return {m.key: _metric(m) for m in used_metrics(plan, hypothesis)}


def _metric(metric: Metric) -> dict[str, Any]:
    # The grain decides verdicts since v3 (resolution, step): stamped when set.
    found: dict[str, Any] = {
        "direction": metric.direction,
        "bounds": metric.bounds,
        "exact": metric.exact,
    }
    found.update({k: v for k, v in (("resolution", metric.resolution), ("step", metric.step)) if v})
    return found


def _family_members(plan: Plan, hypothesis: Hypothesis) -> list[str] | None:
    """The family as the hypotheses in it: renaming the family changes nothing, dropping or
    adding a member does (v3)."""
    if hypothesis.family is None:
        return None
    return sorted(h.id for h in plan.experiment.hypotheses if h.family == hypothesis.family)


def _edges(plan: Plan, hypothesis: Hypothesis) -> dict[str, Any]:
    """Where the hypothesis leads and what leads to it: rewiring changes which hypotheses are
    confirmatory (the fixed sequence follows success edges), so it is frozen too (v3)."""
    steps = graph.edges(plan)
    return {
        "out": {e.outcome: e.target for e in steps if e.source == hypothesis.id},
        "in": sorted(f"{e.source} {e.outcome}" for e in steps if e.target == hypothesis.id),
    }


def _written(values: list[str | int | float] | None) -> list[str] | None:
    return None if values is None else [canonical(str(v)) for v in values]


def _conditions(plan: Plan) -> dict[str, list[str] | None] | None:
    planned = plan.experiment.condition_values
    return None if planned is None else {k: _written(v) for k, v in sorted(planned.items())}


def _reported(plan: Plan) -> dict[str, Any] | None:
    """The figures a plan declares for its reported baselines: a corrected paper number is a
    change of criteria too."""
    found = {
        b.id: b.reported.model_dump(mode="json", exclude_none=True)
        for b in plan.experiment.baselines
        if b.reported is not None
    }
    return found or None


def _resampling(plan: Plan, hypothesis: Hypothesis) -> Any:
    chosen = settings_for(plan, hypothesis).resampling
    return None if chosen is None else chosen.model_dump(mode="json", exclude_none=True)


def _sequential(plan: Plan, hypothesis: Hypothesis) -> dict[str, Any] | None:
    """The sequential design in force. The anytime-valid t is valid whenever one stops, so its
    cap (max_runs) is left out: raising it after results is no change of criteria (issue 17)."""
    found = settings_for(plan, hypothesis).sequential
    if found is None:
        return None
    return {"max_runs": None if found.kind == "anytime" else found.max_runs, "boundary": found.kind}


# pair_by, min_runs and resampling are stamped as the settings in force, so they go back as the
# hypothesis's own overrides, which is what they were for this hypothesis.
SETTINGS: tuple[Setting, ...] = (
    Setting("success_criteria", lambda p, h: _criteria(h), "hypothesis"),
    Setting("guardrails", lambda p, h: _dumped(h.guardrails), "hypothesis"),
    Setting("metrics", _metrics_v2, "metrics", until="v3"),
    Setting("metrics", _metrics, "metrics", since="v3"),
    Setting(
        "exact_baselines",
        lambda p, h: sorted(b.id for b in p.experiment.baselines if b.exact),
        "baselines",
    ),
    Setting("pair_by", lambda p, h: settings_for(p, h).pair_by, "hypothesis"),
    Setting("min_runs", lambda p, h: settings_for(p, h).min_runs, "hypothesis"),
    Setting("resampling", _resampling, "hypothesis"),
    Setting("conditions", lambda p, h: list(p.experiment.conditions), "design"),
    Setting("exploratory", lambda p, h: h.exploratory, "hypothesis"),
    Setting("multiplicity", lambda p, h: p.experiment.multiplicity, "design"),
    Setting("family", lambda p, h: h.family, "hypothesis", until="v3"),
    Setting("family_members", _family_members, "family", since="v3"),
    Setting("edges", _edges, "graph", since="v3"),
    # The design's slots and horizon: which results count depends on them (issue 15, item 2).
    Setting("pair_values", lambda p, h: _written(p.experiment.pair_values), "design", None, "v3"),
    Setting("condition_values", lambda p, h: _conditions(p), "design", None, "v3"),
    Setting("runs", lambda p, h: settings_for(p, h).runs, "hypothesis", None, "v3"),
    # The planned n (issue 17): changing it after results makes the hypothesis exploratory.
    Setting("sequential", _sequential, "hypothesis", None, "v3"),
    Setting("reported_baselines", lambda p, h: _reported(p), "reported", None, "v3"),
    # Several roots share α by a stated rule (issue 17, item 4): which root is primary and a
    # root's weight decide its level. A test or transform declared on a criterion is part of
    # success_criteria above (issue 17, item 5).
    Setting("primary", lambda p, h: p.experiment.primary, "design", None, "v3"),
    Setting("weight", lambda p, h: h.weight, "hypothesis", None, "v3"),
)


def criteria_text(plan: Plan, hypothesis: Hypothesis, version: str = FINGERPRINT_VERSION) -> str:
    """Everything that decides the hypothesis's verdict, as canonical one-line JSON: one key
    per row of ``SETTINGS`` in ``version`` (a later setting only away from its default)."""
    document: dict[str, Any] = {"version": version}
    for setting in SETTINGS:
        if not setting.in_version(version):
            continue
        value = setting.read(plan, hypothesis)
        if setting.default is _ALWAYS or value != setting.default:
            document[setting.key] = value
    return json.dumps(document, sort_keys=True, ensure_ascii=False)


def criteria_fingerprint(
    plan: Plan, hypothesis: Hypothesis, version: str = FINGERPRINT_VERSION
) -> str:
    """A short versioned hash of ``criteria_text``, e.g. ``v3:3f9a…``."""
    text = criteria_text(plan, hypothesis, version)
    return f"{version}:{hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]}"


def v1_text(hypothesis: Hypothesis) -> str:
    """The criteria as the first fingerprint version saw them (results logged before v2)."""
    document = {
        "success_criteria": _dumped(hypothesis.success_criteria),
        "guardrails": _dumped(hypothesis.guardrails),
    }
    return json.dumps(document, sort_keys=True, ensure_ascii=False)


def fingerprint_as(stamp: str, plan: Plan, hypothesis: Hypothesis) -> tuple[str, str]:
    """The current criteria's fingerprint and text under the stamp's own version: results
    logged before versioning are compared by the first version's rules, so a plan that did
    not change is not flagged merely because the fingerprint grew."""
    version = stamp.split(":", 1)[0]
    if version in VERSIONS:
        text = criteria_text(plan, hypothesis, version)
        return criteria_fingerprint(plan, hypothesis, version), text
    text = v1_text(hypothesis)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12], text


# ------------------------------------------------------------------------------ the inverse


def with_current_ids(plan: Plan, criteria: str) -> str:
    """A stamped criteria text with renamed hypotheses under their ids now: the stamp names
    the family's members, the decision graph's edges and the primary hypothesis by id (v3),
    and judging under it must find them in the plan."""
    renamed = plan.experiment_log.renamed()
    if not renamed:
        return criteria
    try:
        document = json.loads(criteria)
    except ValueError:
        return criteria
    if not isinstance(document, dict):
        return criteria
    members = document.get("family_members")
    if isinstance(members, list):
        document["family_members"] = sorted(renamed.get(m, m) for m in members)
    if isinstance(document.get("primary"), str):
        document["primary"] = renamed.get(document["primary"], document["primary"])
    edges = document.get("edges")
    if isinstance(edges, dict):
        if isinstance(edges.get("out"), dict):
            edges["out"] = {k: renamed.get(v, v) for k, v in edges["out"].items()}
        if isinstance(edges.get("in"), list):
            edges["in"] = sorted(_renamed_edge(e, renamed) for e in edges["in"])
    return json.dumps(document, sort_keys=True, ensure_ascii=False)


def _renamed_edge(edge: object, renamed: dict[str, str]) -> object:
    if not isinstance(edge, str) or " " not in edge:
        return edge
    source, outcome = edge.rsplit(" ", 1)
    return f"{renamed.get(source, source)} {outcome}"


def plan_with_criteria(plan: Plan, hypothesis_id: str, criteria: str) -> Plan | None:
    """``plan`` with ``hypothesis_id``'s settings as the criteria text ``criteria`` states
    them; None when the text cannot be read back (see ``rebuilt``)."""
    return rebuilt(plan, hypothesis_id, criteria)[0]


UNREADABLE = "the stamped criteria do not read back"


def rebuilt(plan: Plan, hypothesis_id: str, criteria: str) -> tuple[Plan | None, str]:
    """``plan`` with ``hypothesis_id``'s settings as ``criteria`` states them, or None and why
    not: the text is cut short or from a future mlplan, or it names what the plan no longer
    has (a baseline renamed by hand since, say). The rebuilt plan is held to the rules a
    loaded plan is, since the judge looks ids up in it (issue 16, attack 20)."""
    try:
        document = json.loads(criteria)
    except ValueError:
        return None, UNREADABLE
    if not isinstance(document, dict):
        return None, UNREADABLE
    version = document.get("version")
    # exclude_unset keeps an explicit `pair_by: null` (pairing switched off) as written.
    data = plan.model_dump(mode="json", exclude_unset=True)
    for setting in SETTINGS:
        if setting.key in document:
            _put_back(data, hypothesis_id, setting, document[setting.key])
        elif version in VERSIONS and setting.in_version(version) and setting.default is not _ALWAYS:
            # Left out of the text because it was at its default then: back to the default,
            # or a setting added since would judge the "original" criteria too.
            _put_back(data, hypothesis_id, setting, setting.default)
    try:
        older = Plan.model_validate(data)
    except ValueError:
        return None, UNREADABLE
    problems = reference_problems(older)
    if problems:
        why = problems[0].message
        return None, f"the original criteria name what the plan no longer has ({why})"
    if all(h.id != hypothesis_id for h in older.experiment.hypotheses):
        return None, f"the plan has no hypothesis {hypothesis_id} now"
    return older, ""


def _put_back(data: dict[str, Any], hypothesis_id: str, setting: Setting, value: Any) -> None:
    design = data["experiment"]
    if setting.place == "hypothesis":
        for hypothesis in design["hypotheses"]:
            if hypothesis["id"] == hypothesis_id:
                hypothesis[setting.key] = value
        if value is None and setting.key in ("resampling", "runs", "sequential"):
            # Stamped as the setting in force: none in force means none on the experiment
            # either (the hypothesis's null would fall back to it).
            design[setting.key] = None
    elif setting.place == "design":
        design[setting.key] = value
    elif setting.place == "metrics":
        _put_back_metrics(data, value, grain=setting.since == "v3")
    elif setting.place == "family":
        _put_back_family(design, hypothesis_id, value)
    elif setting.place == "graph":
        _put_back_edges(design, hypothesis_id, value)
    elif setting.place == "reported":
        stamped = value if isinstance(value, Mapping) else {}
        for baseline in design["baselines"]:
            baseline["reported"] = stamped.get(baseline["id"])
    elif isinstance(value, list):  # baselines: which are exact
        for baseline in design["baselines"]:
            baseline["exact"] = baseline["id"] in value


def _put_back_family(design: dict[str, Any], hypothesis_id: str, members: Any) -> None:
    """The stamped members share one family again (named after the hypothesis judged), and no
    one else is in it: Holm's levels are recomputed over the family as it was."""
    ours = next((h.get("family") for h in design["hypotheses"] if h["id"] == hypothesis_id), None)
    if members is None:  # in no family when stamped
        for hypothesis in design["hypotheses"]:
            if hypothesis["id"] == hypothesis_id:
                hypothesis["family"] = None
        return
    if not isinstance(members, list):
        return
    name = f"{hypothesis_id}-as-stamped"
    for hypothesis in design["hypotheses"]:
        if hypothesis["id"] in members:
            hypothesis["family"] = name
        elif ours is not None and hypothesis.get("family") == ours:
            hypothesis["family"] = None


def _put_back_edges(design: dict[str, Any], hypothesis_id: str, edges: Any) -> None:
    """The hypothesis's own next steps as stamped. Edges into it are other hypotheses' settings
    and stay as they are: the stamp only records them, so that rewiring is seen."""
    if not isinstance(edges, Mapping) or not isinstance(edges.get("out"), Mapping):
        return
    for hypothesis in design["hypotheses"]:
        if hypothesis["id"] == hypothesis_id:
            for outcome, target in edges["out"].items():
                step = hypothesis.get(f"on_{outcome}")
                if isinstance(step, dict):
                    step["then"] = target


def _put_back_metrics(data: dict[str, Any], metrics: Any, *, grain: bool) -> None:
    # "lower is better" flipped to "higher" is a change of criteria: turn it back too.
    if isinstance(metrics, Mapping):
        for metric in data["metrics"]:
            stamped = metrics.get(metric["key"])
            if isinstance(stamped, Mapping):
                metric.update({k: v for k, v in stamped.items() if k in ("direction", "bounds")})
                if grain:  # v3 stamps the grain when it is set: absent means none
                    metric["resolution"] = stamped.get("resolution")
                    metric["step"] = stamped.get("step")
                metric["exact"] = bool(stamped.get("exact", False))
