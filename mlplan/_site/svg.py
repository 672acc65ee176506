"""SVG drawn by hand for the site: a hypothesis's evidence and the plan's decision graph.

No matplotlib (importing it and drawing PNGs cost seconds per plan) and no script from a CDN:
the pictures are small text files any browser shows, from disk as from a static host. Every
piece of plan text is XML-escaped, and the files are shown through ``<img>``, where a browser
runs no script even if one got in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from mlplan._judge.verdicts import Check, Verdict
from mlplan._plan import graph
from mlplan._plan.models import TERMINAL_ACTIONS, Plan

__all__ = ["STATUS_COLOURS", "decision_graph_svg", "evidence_svg", "forest_svg"]

STATUS_COLOURS = {
    "succeeded": "#1b5e20",
    "failed": "#b71c1c",
    "inconclusive": "#8a5a00",
    "running": "#0d47a1",
    "overdue": "#6a1b9a",
    "blocked": "#555555",
    "pending": "#555555",
}
_OUTCOME_COLOURS = {"pass": "#1b5e20", "fail": "#b71c1c", "unclear": "#8a5a00", "missing": "#555"}
_BLUE = "#1565c0"
_FONT = 'font-family="sans-serif"'
# Values beyond this cannot share an axis with ordinary ones (a span past the float range).
_PLOTTABLE = 1e150


def _text(x: float, y: float, content: str, size: int = 11, **attributes: str) -> str:
    extra = "".join(f" {key.replace('_', '-')}={quoteattr(v)}" for key, v in attributes.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" {_FONT}{extra}>{escape(content)}</text>'
    )


def _clip(content: str, limit: int) -> str:
    flat = " ".join(content.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _svg(width: float, height: float, body: list[str], title: str) -> str:
    # width/height give the picture a natural size in <img>; viewBox lets CSS scale it down.
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img">'
        f"<title>{escape(title)}</title>"
        '<rect width="100%" height="100%" fill="#ffffff"/>' + "".join(body) + "</svg>\n"
    )


# --------------------------------------------------------------------------- the evidence

_PANEL_W, _PANEL_H = 560, 250
_PLOT_LEFT, _PLOT_RIGHT, _PLOT_TOP, _PLOT_BOTTOM = 70, 540, 48, 196


@dataclass(frozen=True)
class _Axis:
    low: float
    high: float

    def y(self, value: float, top: float) -> float:
        share = (value - self.low) / (self.high - self.low)
        return top + _PLOT_BOTTOM - share * (_PLOT_BOTTOM - _PLOT_TOP)


def _axis(values: Sequence[float]) -> _Axis | None:
    shown = [v for v in values if math.isfinite(v)]
    if not shown or any(abs(v) > _PLOTTABLE for v in shown):
        return None
    low, high = min(shown), max(shown)
    pad = (high - low) * 0.08 or (abs(low) * 0.05 or 0.5)  # one value: a sensible span round it
    return _Axis(low - pad, high + pad)


def _ticks(axis: _Axis, top: float) -> list[str]:
    body = []
    for step in range(5):
        value = axis.low + (axis.high - axis.low) * step / 4
        y = axis.y(value, top)
        body.append(
            f'<line x1="{_PLOT_LEFT}" x2="{_PLOT_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#e0e0e0"/>'
        )
        body.append(_text(_PLOT_LEFT - 6, y + 4, f"{value:.4g}", 10, text_anchor="end"))
    return body


def _check_values(check: Check) -> list[float]:
    values = [*check.points, *check.reference_points]
    values += [v for v in (check.low, check.high, check.estimate) if v is not None]
    if check.reference_points:
        values += [check.threshold] if check.threshold is not None else []
    elif check.paired or check.baseline is not None:
        values += [check.limit] if check.limit is not None else []
    else:
        values += [check.threshold] if check.threshold is not None else []
    return values


def _panel(check: Check, top: float) -> list[str]:
    colour = _OUTCOME_COLOURS[check.outcome]
    what = f"{check.test}, n = {check.n}" if check.test else check.note
    body = [
        _text(
            10,
            top + 18,
            _clip(f"{check.outcome.upper()}: {check.description}", 80),
            12,
            fill=colour,
            font_weight="bold",
        ),
        _text(10, top + 34, _clip(what, 90), 10, fill="#333"),
    ]
    axis = _axis(_check_values(check))
    if axis is None:
        body.append(_text(_PANEL_W / 2, top + 120, "no values to plot", 11, text_anchor="middle"))
        return body
    body += _ticks(axis, top)
    if check.reference_points:
        body += _two_groups(check, axis, top)
    else:
        body += _series(check, axis, top)
    return body


def _band(
    axis: _Axis, top: float, check: Check, x1: float, x2: float, *, offset: float = 0.0
) -> list[str]:
    if check.low is None or check.high is None:
        return []
    y_high, y_low = axis.y(check.high + offset, top), axis.y(check.low + offset, top)
    body = [
        f'<rect x="{x1:.1f}" y="{y_high:.1f}" width="{x2 - x1:.1f}" '
        f'height="{max(y_low - y_high, 1):.1f}" fill="{_BLUE}" fill-opacity="0.15"/>'
    ]
    if check.estimate is not None:
        y = axis.y(check.estimate + offset, top)
        body.append(
            f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{_BLUE}"/>'
        )
    return body


def _limit_line(axis: _Axis, top: float, value: float | None) -> list[str]:
    if value is None or not math.isfinite(value):
        return []
    y = axis.y(value, top)
    return [
        f'<line x1="{_PLOT_LEFT}" x2="{_PLOT_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
        'stroke="#b71c1c" stroke-dasharray="6 4" stroke-width="1.5"/>'
    ]


def _dot(x: float, y: float, fill: str = _BLUE, square: bool = False) -> str:
    if square:
        return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="{fill}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{fill}"/>'


def _series(check: Check, axis: _Axis, top: float) -> list[str]:
    """Each run (or pair's difference) left to right, the interval of their mean as a band
    and the limit they are held against as a dashed line."""
    points = [p for p in check.points if math.isfinite(p)]
    width = _PLOT_RIGHT - _PLOT_LEFT
    step = width / (len(points) + 1) if points else width / 2
    body = _band(axis, top, check, _PLOT_LEFT + 4, _PLOT_RIGHT - 4)
    paired = check.paired or check.baseline is not None
    body += _limit_line(axis, top, check.limit if paired else check.threshold)
    body += [_dot(_PLOT_LEFT + step * (i + 1), axis.y(p, top)) for i, p in enumerate(points)]
    label = check.effect_label or ("difference" if paired else check.metric)
    body.append(_legend(top, [(_BLUE, _clip(label, 40)), ("#b71c1c", "threshold")], check))
    return body


def _two_groups(check: Check, axis: _Axis, top: float) -> list[str]:
    """Unpaired: both groups side by side, the threshold in the metric's unit."""
    left, right = _PLOT_LEFT + 130, _PLOT_RIGHT - 130
    offset = 0.0
    if check.threshold is not None and check.limit is not None:
        offset = check.threshold - check.limit  # scale × the baseline's mean
    body = _band(axis, top, check, left - 40, left + 40, offset=offset)
    body += _limit_line(axis, top, check.threshold)
    body += [_dot(left, axis.y(p, top)) for p in check.points if math.isfinite(p)]
    body += [
        _dot(right, axis.y(p, top), "#616161", square=True)
        for p in check.reference_points
        if math.isfinite(p)
    ]
    body.append(_text(left, top + _PLOT_BOTTOM + 16, "hypothesis", 10, text_anchor="middle"))
    body.append(
        _text(
            right,
            top + _PLOT_BOTTOM + 16,
            _clip(check.baseline or "baseline", 24),
            10,
            text_anchor="middle",
        )
    )
    return [*body, _legend(top, [(_BLUE, "runs"), ("#b71c1c", "threshold")], check)]


def _legend(top: float, entries: list[tuple[str, str]], check: Check) -> str:
    """Below the plot, so it never covers a point."""
    y = top + _PANEL_H - 16
    parts, x = [], float(_PLOT_LEFT)
    if check.low is not None and check.high is not None:
        entries = [*entries, ("#90caf9", check.interval or "interval")]
    for colour, label in entries:
        parts.append(f'<rect x="{x:.1f}" y="{y - 8:.1f}" width="10" height="10" fill="{colour}"/>')
        parts.append(_text(x + 14, y + 1, label, 10))
        x += 26 + 6.2 * len(label)
    return "".join(parts)


def evidence_svg(verdict: Verdict) -> str:
    """One panel per check, worst first when many: what the test saw, its interval and the
    threshold."""
    rank = {"fail": 0, "unclear": 1, "missing": 2, "pass": 3}
    checks = sorted(verdict.checks, key=lambda c: rank[c.outcome])[:12]
    label = "confirmatory" if verdict.confirmatory else "exploratory"
    body = [
        _text(
            10,
            20,
            _clip(f"{verdict.hypothesis}: {verdict.status} ({label})", 80),
            14,
            fill=STATUS_COLOURS.get(verdict.status, "#555555"),
            font_weight="bold",
        )
    ]
    for index, check in enumerate(checks):
        body += _panel(check, 28 + index * _PANEL_H)
    if not checks:
        body.append(_text(10, 50, "no checks", 11))
    height = 28 + max(1, len(checks)) * _PANEL_H
    return _svg(_PANEL_W, height, body, f"Evidence for {verdict.hypothesis}")


# ------------------------------------------------------------------------ the decision graph

_BOX_W, _BOX_H, _GAP_X, _GAP_Y = 170, 46, 24, 56


def _layers(plan: Plan) -> dict[str, int]:
    """Each node's layer: the longest path to it from a root (the graph has no cycle between
    hypotheses; the plan's rules refuse one), terminal actions on the layer below all."""
    ids = [h.id for h in plan.experiment.hypotheses]
    steps = [e for e in graph.edges(plan) if not e.terminal]
    layer = dict.fromkeys(ids, 0)
    for _ in ids:  # Bellman-Ford style relaxation: at most len(ids) rounds on a DAG
        changed = False
        for edge in steps:
            if edge.target in layer and layer[edge.target] < layer[edge.source] + 1:
                layer[edge.target] = layer[edge.source] + 1
                changed = True
        if not changed:
            break
    bottom = max(layer.values(), default=0) + 1
    for edge in graph.edges(plan):
        if edge.terminal:
            layer[edge.target] = bottom
    return layer


def decision_graph_svg(plan: Plan, statuses: dict[str, str]) -> str:
    """The decision graph, layered top to bottom: hypotheses as boxes coloured by status,
    terminal actions as rounded ends; success edges green, failure edges red, dashed."""
    layer = _layers(plan)
    rows: dict[int, list[str]] = {}
    for node in [h.id for h in plan.experiment.hypotheses] + list(TERMINAL_ACTIONS):
        if node in layer:
            rows.setdefault(layer[node], []).append(node)
    widest = max((len(r) for r in rows.values()), default=1)
    width = max(widest * (_BOX_W + _GAP_X) + _GAP_X, 240)
    where: dict[str, tuple[float, float]] = {}
    for depth, nodes in rows.items():
        span = len(nodes) * (_BOX_W + _GAP_X) - _GAP_X
        for index, node in enumerate(nodes):
            x = (width - span) / 2 + index * (_BOX_W + _GAP_X)
            where[node] = (x, 16 + depth * (_BOX_H + _GAP_Y))
    height = 16 + (max(rows, default=0) + 1) * (_BOX_H + _GAP_Y)
    body = [
        '<defs><marker id="a" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker></defs>'
    ]
    body += [_edge(where, edge) for edge in graph.edges(plan) if edge.target in where]
    statements = {h.id: h.statement for h in plan.experiment.hypotheses}
    for node, (x, y) in where.items():
        body.append(_node(node, x, y, statuses.get(node), statements.get(node)))
    return _svg(width, height, body, f"Decision graph of {plan.id}")


def _edge(where: dict[str, tuple[float, float]], edge: graph.Edge) -> str:
    (sx, sy), (tx, ty) = where[edge.source], where[edge.target]
    x1, y1 = sx + _BOX_W / 2, sy + _BOX_H
    x2, y2 = tx + _BOX_W / 2, ty
    if ty <= sy:  # same layer or upward cannot happen on a DAG; drawn round the side anyway
        y2 = ty + _BOX_H
    colour, dash = (
        ("#1b5e20", "") if edge.outcome == "success" else ("#b71c1c", ' stroke-dasharray="5 3"')
    )
    mid_y = (y1 + y2) / 2
    return (
        f'<path class="edge" d="M{x1:.1f},{y1:.1f} C{x1:.1f},{mid_y:.1f} {x2:.1f},{mid_y:.1f} '
        f'{x2:.1f},{y2:.1f}" fill="none" stroke="{colour}" stroke-width="1.5"{dash} '
        'marker-end="url(#a)"/>' + _text((x1 + x2) / 2 + 4, mid_y - 2, edge.outcome, 9, fill=colour)
    )


def _node(node: str, x: float, y: float, status: str | None, statement: str | None) -> str:
    terminal = statement is None
    colour = "#37474f" if terminal else STATUS_COLOURS.get(status or "pending", "#555")
    radius = _BOX_H / 2 if terminal else 6
    label = node if terminal else f"{node}: {status or 'pending'}"
    tooltip = f"<title>{escape(statement)}</title>" if statement else ""
    return (
        f'<g class="node">{tooltip}<rect x="{x:.1f}" y="{y:.1f}" '
        f'width="{_BOX_W}" height="{_BOX_H}" '
        f'rx="{radius:.0f}" fill="#fff" stroke="{colour}" stroke-width="2"/>'
        + _text(
            x + _BOX_W / 2,
            y + 20,
            _clip(label, 26),
            12,
            text_anchor="middle",
            fill=colour,
            font_weight="bold",
        )
        + (
            _text(
                x + _BOX_W / 2, y + 36, _clip(statement, 30), 9, text_anchor="middle", fill="#333"
            )
            if statement
            else ""
        )
        + "</g>"
    )


# ----------------------------------------------------------------------------- the forest plot

_ROW_H, _LABEL_W, _FOREST_W = 30, 300, 640


def _margin(check: Check) -> tuple[float, float, float] | None:
    """The check's estimate and interval as distances from its limit, signed so that right of
    zero is the side that passes (``above=False`` checks are mirrored); None without both."""
    if check.estimate is None or check.low is None or check.high is None or check.limit is None:
        return None
    sign = 1.0 if check.above else -1.0
    ends = sorted(sign * (v - check.limit) for v in (check.low, check.high))
    estimate = sign * (check.estimate - check.limit)
    values = (estimate, ends[0], ends[1])
    return values if all(math.isfinite(v) and abs(v) <= _PLOTTABLE for v in values) else None


def forest_svg(verdict: Verdict) -> str | None:
    """Every check with an interval as one row: estimate and labelled interval against the
    threshold (the line at zero; right of it passes), a forest plot (Lewis & Clarke, BMJ 2001).
    None when no check has an interval to draw."""
    rows = [(check, m) for check in verdict.checks if (m := _margin(check)) is not None]
    if not rows:
        return None
    axis = _axis([0.0, *(v for _, m in rows for v in m)])
    assert axis is not None  # every value is finite and plottable
    left, right = _LABEL_W + 10, _FOREST_W - 20

    def x(value: float) -> float:
        return left + (value - axis.low) / (axis.high - axis.low) * (right - left)

    top = 50
    height = top + len(rows) * _ROW_H + 40
    body = [
        _text(
            10,
            20,
            _clip(f"{verdict.hypothesis}: every check against its threshold", 90),
            13,
            font_weight="bold",
        ),
        f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top - 6}" y2="{height - 34}" '
        'stroke="#b71c1c" stroke-dasharray="6 4" stroke-width="1.5"/>',
    ]
    for index, (check, (estimate, low, high)) in enumerate(rows):
        y = top + index * _ROW_H + _ROW_H / 2
        colour = _OUTCOME_COLOURS[check.outcome]
        body.append(_text(10, y + 4, _clip(check.description, 46), 10, fill=colour))
        body.append(
            f'<line x1="{x(low):.1f}" x2="{x(high):.1f}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        body.append(_dot(x(estimate), y, colour, square=True))
    bottom = height - 24
    for end in (axis.low, axis.high):  # the scale: distance from the threshold, effect units
        anchor = "start" if end == axis.low else "end"
        body.append(_text(x(end), bottom, f"{end:+.3g}", 10, text_anchor=anchor, fill="#333"))
    body.append(_text(x(0), top - 10, "threshold", 10, text_anchor="middle", fill="#b71c1c"))
    kinds = sorted({c.interval for c, _ in rows if c.interval}) or ["interval"]
    body.append(
        _text(left, bottom + 14, f"■ estimate, — {' / '.join(kinds)}; right of the line passes", 10)
    )
    return _svg(_FOREST_W, height, body, f"Forest plot for {verdict.hypothesis}")
