"""Worked projects as starting points for `mlplan new NAME --template EXAMPLE`.

A worked example's plan records a finished study: timeboxes weeks in the past, the team's
decisions, notes and lessons. A new project wants the structure without the history, so the
example's text is edited in place (comments and layout kept): its timeboxes are shifted to
start today, keeping their spacing, and its experiment log is emptied. The study modules its
baselines call are copied beside the new plan, so `mlplan baseline run` works there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import yaml

from mlplan._plan.text_edit import content_end
from mlplan._resources import example_plan

__all__ = ["starter_text", "study_modules"]

_EMPTY_LOG = "experiment_log:\n  entries: []\n  decisions: []\n"
Edit = tuple[int, int, str]  # replace text[start:stop] with the string


def starter_text(example: str, plan_id: str, schema_file: str, today: dt.date) -> str:
    """The example's plan text, renamed, with timeboxes from ``today`` and an empty log."""
    text = example_plan(example).read_text(encoding="utf-8")
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    assert isinstance(root, yaml.MappingNode)  # the bundled examples are valid plans
    edits = [*_timebox_edits(root, today), *_log_edit(text, root), *_id_edit(root, plan_id)]
    edits.append((0, _leading_comments_end(text), _header(example, schema_file, today)))
    for start, stop, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[stop:]
    return text


def study_modules(example: str) -> list[Path]:
    """The example's own modules that its baselines' entry points import."""
    text = example_plan(example).read_text(encoding="utf-8")
    baselines = yaml.safe_load(text)["experiment"]["baselines"]
    names = dict.fromkeys(
        b["entry_point"].partition(":")[0].split(".")[0] for b in baselines if b.get("entry_point")
    )
    folder = example_plan(example).parent
    return [folder / f"{name}.py" for name in names if (folder / f"{name}.py").is_file()]


def _child(mapping: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(mapping, yaml.MappingNode):
        for key_node, value in mapping.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                found: yaml.Node = value
                return found
    return None


def _start_nodes(root: yaml.MappingNode) -> Iterator[yaml.ScalarNode]:
    hypotheses = _child(_child(root, "experiment") or root, "hypotheses")
    for hypothesis in hypotheses.value if isinstance(hypotheses, yaml.SequenceNode) else []:
        start = _child(_child(hypothesis, "timebox") or hypothesis, "start")
        if isinstance(start, yaml.ScalarNode):
            yield start


def _timebox_edits(root: yaml.MappingNode, today: dt.date) -> list[Edit]:
    nodes = list(_start_nodes(root))
    if not nodes:
        return []
    starts = [dt.date.fromisoformat(node.value) for node in nodes]
    shift = today - min(starts)  # the first hypothesis starts today; the spacing is kept
    edits = []
    for node, start in zip(nodes, starts, strict=True):
        at = node.start_mark.index + (1 if node.style in ("'", '"') else 0)
        edits.append((at, at + len(node.value), (start + shift).isoformat()))
    return edits


def _log_edit(text: str, root: yaml.MappingNode) -> list[Edit]:
    for key_node, value in root.value:
        if key_node.value == "experiment_log":
            start = text.rfind("\n", 0, key_node.start_mark.index) + 1
            line_end = text.find("\n", content_end(text, value))
            stop = len(text) if line_end == -1 else line_end + 1
            return [(start, stop, _EMPTY_LOG)]
    return [(len(text), len(text), _EMPTY_LOG)]


def _id_edit(root: yaml.MappingNode, plan_id: str) -> list[Edit]:
    node = _child(root, "id")
    assert node is not None  # every plan has an id
    return [(node.start_mark.index, node.end_mark.index, plan_id)]


def _leading_comments_end(text: str) -> int:
    end = 0
    for line in text.splitlines(keepends=True):
        if not line.startswith("#"):
            break
        end += len(line)
    return end


def _header(example: str, schema_file: str, today: dt.date) -> str:
    modules = ", ".join(path.name for path in study_modules(example))
    study = f"\n# Its baselines' code, copied beside this plan: {modules}." if modules else ""
    return (
        f"# yaml-language-server: $schema={schema_file}\n"
        f"# Started on {today} from mlplan's worked example {example!r}. Timeboxes start today;\n"
        f"# the example's decisions, notes and lessons are left out.{study}\n"
    )
