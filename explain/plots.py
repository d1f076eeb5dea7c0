"""Bokeh figures of explanations: pure functions from plain data to `json_item` dicts.

No CustomJS (or any model that compiles code in the browser), so pages need no
`unsafe-eval`. Heatmaps use fixed colour scales: weights 0-1 (white to blue), effects -1
to 1 (red: lowered the recommendation, white: none, blue: raised it), with a legend in words.
"""
from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from bokeh.embed import json_item
from bokeh.models import (
    ColorBar,
    ColumnDataSource,
    FactorRange,
    FixedTicker,
    HoverTool,
    LinearColorMapper,
    Range1d,
)
from bokeh.palettes import Blues256
from bokeh.plotting import figure


def _ramp(start: str, end: str, n: int) -> list[str]:
    """Return n colours from `start` to `end` (hex), linear in RGB."""
    a = [int(start[i:i + 2], 16) for i in (1, 3, 5)]
    b = [int(end[i:i + 2], 16) for i in (1, 3, 5)]
    return ["#" + "".join(f"{round(x + (y - x) * t / (n - 1)):02x}" for x, y in zip(a, b, strict=True))
            for t in range(n)]


PALETTE = tuple(reversed(Blues256))  # weights: white at 0, dark blue at 1
# effects: ColorBrewer RdBu's ends and middle (readable with the common colour-vision deficiencies)
DIVERGING = tuple(_ramp("#b2182b", "#f7f7f7", 128) + _ramp("#f7f7f7", "#2166ac", 128))
KIND_COLOURS = {"focus": "#d62828", "history": "#f4a261", "recommended": "#2a6f97", "genre": "#8d99ae"}  # legend order
TOOLS = "pan,wheel_zoom,reset,save"
SCALES = {"weight": (PALETTE, 0.0, 1.0), "effect": (DIVERGING, -1.0, 1.0)}


def short(title: str, width: int = 22) -> str:
    """Return a title cut to `width` characters for an axis label."""
    return title if len(title) <= width else title[: width - 1] + "…"


def _labels(titles: Sequence[str]) -> list[str]:
    """Return unique short labels (a categorical axis needs distinct factors)."""
    seen: dict[str, int] = {}
    out = []
    for t in titles:
        label = short(t)
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out


def heatmap(*, rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[float]],
            hover: Sequence[tuple[str, Sequence[Sequence[str]]]] = (), scale: str = "weight",
            legend: tuple[str, str, str] = ("", "", ""), title: str = "", target: str = "plot",
            row_label: str = "", column_label: str = "") -> dict:
    """Return a `json_item` heatmap: one row per title in `rows`, one column per `columns`.

    `values[r][c]` is drawn on a fixed scale: "weight" 0 to 1, or "effect" -1 (lowered) to
    1 (raised), whose colour bar reads `legend` (low, middle, high) instead of numbers.
    `hover`: (label, text per cell) pairs shown with both titles when a cell is hovered.
    """
    ylabels, xlabels = _labels(rows), _labels(columns)
    data: dict[str, list] = {"x": [], "y": [], "row": [], "column": [], "value": [],
                             **{f"h{n}": [] for n in range(len(hover))}}
    for r, row in enumerate(rows):
        for c, column in enumerate(columns):
            data["x"].append(xlabels[c])
            data["y"].append(ylabels[r])
            data["row"].append(row)
            data["column"].append(column)
            data["value"].append(float(values[r][c]))
            for n, (_label, texts) in enumerate(hover):
                data[f"h{n}"].append(str(texts[r][c]))
    item = json.loads(_heatmap_template(title, row_label, column_label, scale, tuple(legend),
                                        tuple(label for label, _t in hover)))
    doc = item["doc"]
    _set_data(_named(doc, "heat-source"), data)
    _named(doc, "heat-x")["attributes"]["factors"] = xlabels
    _named(doc, "heat-y")["attributes"]["factors"] = list(reversed(ylabels))
    doc["roots"][0]["attributes"]["height"] = max(240, 30 * len(rows) + (230 if scale == "effect" else 170))
    item["target_id"] = target
    return item


# Building a Bokeh figure costs ~0.1-0.3 s here (property defaults and serialisation), far
# over a page's budget. So each figure's structure is built once per process and labels,
# and each request only puts its data into a copy of that JSON: still a plain function
# of its arguments, still built per request from the stored numbers.
@lru_cache(maxsize=64)
def _heatmap_template(title: str, row_label: str, column_label: str, scale: str,
                      legend: tuple[str, str, str], hover_labels: tuple[str, ...]) -> str:
    palette, low, high = SCALES[scale]
    mapper = LinearColorMapper(palette=palette, low=low, high=high)
    fig = figure(x_range=FactorRange(name="heat-x"), y_range=FactorRange(name="heat-y"), title=title or None,
                 height=300, sizing_mode="stretch_width", tools=TOOLS, toolbar_location="above",
                 x_axis_label=column_label or None, y_axis_label=row_label or None)
    source = ColumnDataSource({k: [] for k in ("x", "y", "row", "column", "value",
                                               *(f"h{n}" for n in range(len(hover_labels))))},
                              name="heat-source")
    fig.rect("x", "y", width=1, height=1, source=source,
             fill_color={"field": "value", "transform": mapper}, line_color="#e5e7eb")
    fig.add_tools(HoverTool(tooltips=[("", "@row"), ("", "@column"),
                                      *((label, f"@h{n}") for n, label in enumerate(hover_labels))]))
    fig.xaxis.major_label_orientation = 0.9
    fig.grid.grid_line_color = None
    fig.axis.axis_line_color = None
    if scale == "effect":
        # below the cells, labelled in words: a phone's width has no room for a bar at the side
        bar = ColorBar(color_mapper=mapper, orientation="horizontal", height=10, location=(0, 0),
                       ticker=FixedTicker(ticks=[low, 0.0, high]),
                       major_label_overrides={low: legend[0], 0.0: legend[1], high: legend[2]},
                       major_label_text_font_size="11px")
        fig.add_layout(bar, "below")
    else:
        fig.add_layout(ColorBar(color_mapper=mapper, width=10), "right")
    return json.dumps(json_item(fig, "plot"))


def _named(doc: dict, name: str) -> dict:
    """Return the model called `name` in a serialised Bokeh document."""
    node = doc
    for key in _path(name, doc):
        node = node[key]
    return node


def _path(name: str, doc: dict) -> list:
    """Return the keys leading to the model called `name` (remembered per template shape)."""
    fingerprint = (name, doc["roots"][0]["id"], doc["roots"][0]["name"])
    if fingerprint not in _PATHS:
        stack: list = [(doc, [])]
        while stack:
            node, path = stack.pop()
            if isinstance(node, dict):
                if node.get("type") == "object" and node.get("attributes", {}).get("name") == name:
                    _PATHS[fingerprint] = path
                    break
                stack.extend((v, [*path, k]) for k, v in node.items())
            elif isinstance(node, list):
                stack.extend((v, [*path, i]) for i, v in enumerate(node))
        else:
            raise KeyError(name)
    return _PATHS[fingerprint]


# Where each named model sits in a template's JSON; the root's id identifies the template.
_PATHS: dict[tuple, list] = {}


def _set_data(source: dict, columns: dict[str, list]) -> None:
    """Replace a serialised ColumnDataSource's columns."""
    source["attributes"]["data"] = {"type": "map", "entries": [[k, v] for k, v in columns.items()]}


PUSH_TOLERANCE = 1e-3


def graph_layout(nodes: Sequence[dict], edges: Sequence[dict], seed: int = 7,
                 min_distance: float = 0.28) -> dict[str, tuple[float, float]]:
    """Return {node id: (x, y)} filling [-1, 1] on both axes: a force-directed (spring)
    layout with a fixed seed (``spring_layout``), then nodes closer than `min_distance`
    pushed apart (so no dot hides another).

    A pure function of the graph's shape, remembered for the last few hundred shapes in this
    process: a page read again, or the app's explanation of the same item, draws the same graph.
    """
    return dict(_layout(tuple(n["id"] for n in nodes),
                        tuple((e["source"], e["target"], max(e["weight"], 1e-3)) for e in edges), seed, min_distance))


def forget_layouts() -> None:
    """Empty the layouts this process remembers (benchmarks time the page uncached)."""
    _layout.cache_clear()


def spring_layout(node_ids: Sequence[str], edges: Sequence[tuple[str, str, float]], seed: int,
                  iterations: int = 200, threshold: float = 1e-4) -> dict[str, tuple[float, float]]:
    """Return {node id: (x, y)}, centred, the largest coordinate 1: Fruchterman-Reingold, as
    networkx's ``spring_layout`` computes it for a small graph (its dense version, the same
    start from ``RandomState(seed)``, the same cooling and stop), with an optimal distance
    of 2.5 / sqrt(nodes) and edges pulling by weight.

    Written out on x and y apart: about twice as fast as networkx's einsum form on graphs
    this small (the page's A/B: docs/benchmarks.md, "Restructuring"); the positions differ
    from networkx's by at most 0.004 (tests/explain/test_plots.py).
    """
    n = len(node_ids)
    if n == 0:
        return {}
    index = {node: i for i, node in enumerate(node_ids)}
    pull = np.zeros((n, n))  # (n, n) edge weights
    for source, target, weight in edges:
        pull[index[source], index[target]] = pull[index[target], index[source]] = weight
    k = 2.5 / n ** 0.5  # the optimal distance between nodes
    pull /= k
    start = np.random.RandomState(seed).rand(n, 2)
    x, y = start[:, 0].copy(), start[:, 1].copy()
    heat = max(np.ptp(x), np.ptp(y)) * 0.1  # the largest step, cooled linearly to 0
    cooling = heat / (iterations + 1)
    for _step in range(iterations):
        dx, dy = x[:, None] - x, y[:, None] - y  # (n, n)
        d2 = dx * dx + dy * dy
        np.maximum(d2, 1e-4, out=d2)  # at least 0.01 apart
        force = k * k / d2 - pull * np.sqrt(d2)  # repulsion k²/d, attraction weight·d²/k, over d
        step_x, step_y = (dx * force).sum(1), (dy * force).sum(1)
        scale = heat / np.maximum(np.sqrt(step_x * step_x + step_y * step_y), 0.01)
        step_x *= scale
        step_y *= scale
        x += step_x
        y += step_y
        heat -= cooling
        if np.sqrt((step_x * step_x).sum() + (step_y * step_y).sum()) / n < threshold:
            break
    xy = np.stack([x, y], axis=1)
    xy -= xy.mean(axis=0)
    largest = np.abs(xy).max()
    if largest > 0:
        xy /= largest
    return {node: (float(a), float(b)) for node, (a, b) in zip(node_ids, xy, strict=True)}


@lru_cache(maxsize=512)
def _layout(node_ids: tuple[str, ...], edges: tuple[tuple[str, str, float], ...], seed: int,
            min_distance: float) -> tuple[tuple[str, tuple[float, float]], ...]:
    pos = spring_layout(node_ids, edges, seed)
    ids = list(pos)
    xy = np.array([pos[i] for i in ids], dtype=float).reshape(-1, 2)  # (n, 2)
    spread = np.random.default_rng(seed).uniform(-1e-3, 1e-3, size=xy.shape)  # separates equal points

    def fill(points: np.ndarray) -> np.ndarray:
        lo, hi = points.min(axis=0), points.max(axis=0)
        span = np.where(hi - lo > 1e-9, hi - lo, 1.0)
        return np.where(hi - lo > 1e-9, -1 + 2 * (points - lo) / span, 0.0)

    xy = fill(xy + spread)
    for _round in range(100):
        delta = xy[:, None, :] - xy[None, :, :]  # (n, n, 2)
        dist = np.sqrt((delta ** 2).sum(-1)) + np.eye(len(ids))  # (n, n)
        push = np.clip(min_distance - dist, 0.0, None) / 2  # each of a close pair moves half the gap
        np.fill_diagonal(push, 0.0)
        # done when no pair is closer than min_distance less 0.002 (a third of a pixel in
        # the narrowest frame): refilling [-1, 1] after each push leaves gaps a hair short,
        # and chasing them took all 100 rounds, about 4 ms a page
        if push.max() < PUSH_TOLERANCE:
            break
        xy = fill(xy + (delta / dist[..., None] * push[..., None]).sum(axis=1))
    return tuple((node, (float(x), float(y))) for node, (x, y) in zip(ids, xy, strict=True))


# The graph's drawing area: node positions lie in [-1, 1]; room on the sides for labels and
# a band at the top for the legend, inside the frame, where no node can sit.
X_RANGE = (-1.3, 1.3)
Y_RANGE = (-1.15, 1.65)
# The narrowest frame the graph is drawn in (a 390 px phone, less page margins and the
# toolbar): labels chosen not to overlap there overlap nowhere wider (same height).
NARROW_FRAME_PX = (300, 400)
LABEL_FONT_PX = 11


def _text_px(text: str) -> float:
    """Return the approximate width of `text` in pixels at the label font size."""
    wide = sum(unicodedata.east_asian_width(ch) in "WF" for ch in text)
    return LABEL_FONT_PX * (wide + 0.58 * (len(text) - wide))


def node_sizes(nodes: Sequence[dict]) -> list[float]:
    """Return each node's diameter in pixels: it grows with its weight, relative to the heaviest."""
    heaviest = max((n["weight"] for n in nodes), default=1.0) or 1.0
    return [11 + 22 * max(n["weight"], 0.0) / heaviest for n in nodes]


def graph_labels(nodes: Sequence[dict], most: int = 6) -> list[dict]:
    """Return {"text", "align", "offset", "y"} per node: the strongest nodes get a label (the
    focus first, then by weight), at most `most`, none overlapping another label or another
    dot in the narrowest frame, none leaving it. A label goes beside its dot (on the side
    towards the middle, else the other side), else above or below it ("y": where, in data
    units; "offset": pixels to the side). The focus is labelled even where only dots are in
    the way; the others get "" (their names show on hover)."""
    W, H = NARROW_FRAME_PX
    (x0, x1), (y0, y1) = X_RANGE, Y_RANGE
    px = [((n["x"] - x0) / (x1 - x0) * W, (n["y"] - y0) / (y1 - y0) * H) for n in nodes]
    radius = [d / 2 for d in node_sizes(nodes)]
    dots = [(x - r, x + r, y - r, y + r) for (x, y), r in zip(px, radius, strict=True)]

    def overlaps(a: tuple, b: tuple) -> bool:
        return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]

    def places(i: int, w: float) -> list[tuple[tuple, dict]]:
        (x, y), half, gap = px[i], LABEL_FONT_PX * 0.75, radius[i] + 3
        lift = (gap + half) / H * (y1 - y0)  # above or below, in data units (the height is fixed)
        left = ((x - gap - w, x - gap, y - half, y + half), {"align": "right", "offset": -gap, "y": nodes[i]["y"]})
        right = ((x + gap, x + gap + w, y - half, y + half), {"align": "left", "offset": gap, "y": nodes[i]["y"]})
        above = ((x - w / 2, x + w / 2, y + gap, y + gap + 2 * half), {"align": "center", "offset": 0,
                                                                          "y": nodes[i]["y"] + lift})
        below = ((x - w / 2, x + w / 2, y - gap - 2 * half, y - gap), {"align": "center", "offset": 0,
                                                                          "y": nodes[i]["y"] - lift})
        return [*((left, right) if nodes[i]["x"] > 0.2 else (right, left)), above, below]

    order = sorted(range(len(nodes)), key=lambda i: (nodes[i]["kind"] != "focus", -nodes[i]["weight"], i))
    taken: list[tuple] = []
    out = [{"text": "", "align": "left", "offset": 0, "y": n["y"]} for n in nodes]
    for i in order:
        if len(taken) >= most:
            break
        text = short(nodes[i]["title"], 18)
        fits = [(box, where) for box, where in places(i, _text_px(text))
                if box[0] >= 0 and box[1] <= W and box[2] >= 0 and box[3] <= H
                and not any(overlaps(box, t) for t in taken)]
        clear = [(box, where) for box, where in fits if not any(overlaps(box, d) for j, d in enumerate(dots) if j != i)]
        chosen = (clear or (fits if nodes[i]["kind"] == "focus" else []))[:1]
        for box, where in chosen:
            taken.append(box)
            out[i] = {"text": text, **where, "offset": round(where["offset"], 1)}
    return out


def graph(*, nodes: Sequence[dict], edges: Sequence[dict], title: str = "", target: str = "plot",
          kind_labels: dict[str, str] | None = None, detail_label: str = "", labels: int = 6) -> dict:
    """Return a `json_item` force-directed graph.

    `nodes`: {"id", "title", "kind" (history, recommended, focus, genre), "weight", "x", "y"
    (in [-1, 1]), "detail" (optional hover text)}; `edges`: {"source", "target", "weight"}
    (line width and alpha, relative to the largest). Node size grows with weight (relative
    to the heaviest); colour shows the kind (legend inside the frame, in its own band).
    Only the `labels` strongest nodes are labelled, never overlapping; hover names them all.
    """
    kind_labels = kind_labels or {}
    where = {n["id"]: (n["x"], n["y"]) for n in nodes}
    es = [e for e in edges if e["source"] in where and e["target"] in where]
    strongest = max((e["weight"] for e in es), default=1.0) or 1.0
    sizes = node_sizes(nodes)
    placed = graph_labels(nodes, most=labels)
    item = json.loads(_graph_template(title, detail_label))
    doc = item["doc"]
    _set_data(_named(doc, "graph-edges"), {
        "xs": [[where[e["source"]][0], where[e["target"]][0]] for e in es],
        "ys": [[where[e["source"]][1], where[e["target"]][1]] for e in es],
        "width": [1 + 6 * e["weight"] / strongest for e in es],
        "alpha": [0.25 + 0.55 * e["weight"] / strongest for e in es],
    })
    # one row per node, grouped by kind in legend order (the legend lists kinds as met)
    kinds = list(KIND_COLOURS)
    order = sorted(range(len(nodes)), key=lambda i: kinds.index(nodes[i]["kind"]) if nodes[i]["kind"] in kinds
                   else len(kinds))
    _set_data(_named(doc, "graph-nodes"), {
        "x": [nodes[i]["x"] for i in order], "y": [nodes[i]["y"] for i in order],
        "title": [nodes[i]["title"] for i in order],
        "kind": [kind_labels.get(nodes[i]["kind"], nodes[i]["kind"]) for i in order],
        "colour": [KIND_COLOURS.get(nodes[i]["kind"], "#999999") for i in order],
        "size": [sizes[i] for i in order],
        "detail": [nodes[i].get("detail", "") for i in order],
    })
    _set_data(_named(doc, "graph-labels"), {
        "x": [n["x"] for n in nodes], "y": [p["y"] for p in placed],
        "text": [p["text"] for p in placed], "align": [p["align"] for p in placed],
        "offset": [p["offset"] for p in placed],
    })
    item["target_id"] = target
    return item


@lru_cache(maxsize=16)
def _graph_template(title: str, detail_label: str) -> str:
    fig = figure(title=title or None, height=460, sizing_mode="stretch_width", tools=TOOLS,
                 toolbar_location="above", x_range=Range1d(*X_RANGE), y_range=Range1d(*Y_RANGE))
    edges = ColumnDataSource({"xs": [], "ys": [], "width": [], "alpha": []}, name="graph-edges")
    fig.multi_line("xs", "ys", line_width="width", line_alpha="alpha", line_color="#6b7280", source=edges)
    source = ColumnDataSource({k: [] for k in ("x", "y", "title", "kind", "colour", "size", "detail")},
                              name="graph-nodes")
    nodes_r = fig.scatter("x", "y", size="size", fill_color="colour", line_color="white",
                          source=source, legend_field="kind")
    labels = ColumnDataSource({k: [] for k in ("x", "y", "text", "align", "offset")}, name="graph-labels")
    fig.text("x", "y", text="text", source=labels, x_offset="offset", text_align="align",
             text_baseline="middle", text_font_size=f"{LABEL_FONT_PX}px", text_color="#1f2937",
             background_fill_color="white", background_fill_alpha=0.75)
    tooltips = [("", "@title"), ("", "@kind")]
    if detail_label:
        tooltips.append((detail_label, "@detail"))
    fig.add_tools(HoverTool(renderers=[nodes_r], tooltips=tooltips))
    fig.axis.visible = False
    fig.grid.visible = False
    legend = fig.legend[0]
    legend.location = "top_left"  # inside the frame, in the band the y range keeps free
    legend.ncols = 2
    legend.label_text_font_size = "11px"
    legend.glyph_height = legend.glyph_width = 14
    legend.spacing, legend.padding, legend.margin = 2, 4, 4
    legend.background_fill_alpha = 0.85
    return json.dumps(json_item(fig, "plot"))


def training_curves(*, runs: Sequence[dict], target: str = "plot", title: str = "") -> dict:
    """Return a `json_item` of validation NDCG@10 per epoch, one line per training run.

    `runs`: {"label", "epochs": [int], "ndcg": [float | None]}.
    """
    fig = figure(title=title or None, height=320, sizing_mode="stretch_width", tools=TOOLS,
                 toolbar_location="above", x_axis_label="epoch", y_axis_label="validation NDCG@10")
    colours = ("#2a6f97", "#d62828", "#f4a261", "#2a9d8f", "#6d597a", "#8d99ae")
    for i, run in enumerate(runs):
        pts = [(e, v) for e, v in zip(run["epochs"], run["ndcg"], strict=True) if v is not None]
        if not pts:
            continue
        src = ColumnDataSource({"epoch": [p[0] for p in pts], "ndcg": [p[1] for p in pts],
                                "run": [run["label"]] * len(pts)})
        colour = colours[i % len(colours)]
        fig.line("epoch", "ndcg", source=src, line_color=colour, legend_label=run["label"], line_width=2)
        fig.scatter("epoch", "ndcg", source=src, fill_color=colour, line_color=colour, size=6)
    fig.add_tools(HoverTool(tooltips=[("", "@run"), ("epoch", "@epoch"), ("NDCG@10", "@ndcg{0.0000}")]))
    if fig.legend:
        fig.legend.location = "bottom_right"
    return json_item(fig, target)
