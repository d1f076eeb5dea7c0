"""Bokeh figures of explanations: pure functions from plain data to `json_item` dicts.

No CustomJS (or any model that compiles code in the browser), so pages need no
`unsafe-eval`; every figure uses a fixed 0-1 colour scale where it shows weights.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache

import networkx as nx
from bokeh.embed import json_item
from bokeh.models import ColorBar, ColumnDataSource, FactorRange, HoverTool, LabelSet, LinearColorMapper
from bokeh.palettes import Blues256
from bokeh.plotting import figure

PALETTE = tuple(reversed(Blues256))  # white at 0, dark blue at 1
KIND_COLOURS = {"history": "#f4a261", "recommended": "#2a6f97", "focus": "#d62828", "genre": "#8d99ae"}
TOOLS = "pan,wheel_zoom,reset,save"


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


def heatmap(*, rows: Sequence[str], columns: Sequence[str], weights: Sequence[Sequence[float]],
            loo: Sequence[Sequence[float]] | None = None, title: str = "", target: str = "plot",
            row_label: str = "", column_label: str = "",
            hover_labels: tuple[str, str] = ("weight", "leave-one-out Δ")) -> dict:
    """Return a `json_item` heatmap: one row per title in `rows`, one column per `columns`.

    `weights[r][c]` in [0, 1] is drawn on a fixed 0-1 scale; `loo[r][c]` (the score change
    when the column's item is removed) is shown on hover next to both titles.
    """
    ylabels, xlabels = _labels(rows), _labels(columns)
    data: dict[str, list] = {"x": [], "y": [], "row": [], "column": [], "weight": [], "loo": []}
    for r, row in enumerate(rows):
        for c, column in enumerate(columns):
            data["x"].append(xlabels[c])
            data["y"].append(ylabels[r])
            data["row"].append(row)
            data["column"].append(column)
            data["weight"].append(float(weights[r][c]))
            data["loo"].append(float(loo[r][c]) if loo is not None else 0.0)
    item = json.loads(_heatmap_template(title, row_label, column_label, *hover_labels))
    doc = item["doc"]
    _set_data(_named(doc, "heat-source"), data)
    _named(doc, "heat-x")["attributes"]["factors"] = xlabels
    _named(doc, "heat-y")["attributes"]["factors"] = list(reversed(ylabels))
    doc["roots"][0]["attributes"]["height"] = max(220, 34 * len(rows) + 170)
    item["target_id"] = target
    return item


# Building a Bokeh figure costs ~0.1-0.3 s here (property defaults and serialisation), far
# over a page's budget. So each figure's structure is built once per process and labels,
# and each request only puts its data into a copy of that JSON: still a plain function
# of its arguments, still built per request from the stored numbers.
@lru_cache(maxsize=64)
def _heatmap_template(title: str, row_label: str, column_label: str, weight_label: str, loo_label: str) -> str:
    mapper = LinearColorMapper(palette=PALETTE, low=0.0, high=1.0)
    fig = figure(x_range=FactorRange(name="heat-x"), y_range=FactorRange(name="heat-y"), title=title or None,
                 height=300, sizing_mode="stretch_width", tools=TOOLS, toolbar_location="above",
                 x_axis_label=column_label or None, y_axis_label=row_label or None)
    source = ColumnDataSource({k: [] for k in ("x", "y", "row", "column", "weight", "loo")}, name="heat-source")
    fig.rect("x", "y", width=1, height=1, source=source,
             fill_color={"field": "weight", "transform": mapper}, line_color="#e5e7eb")
    fig.add_tools(HoverTool(tooltips=[("", "@row"), ("", "@column"), (weight_label, "@weight{0.000}"),
                                      (loo_label, "@loo{+0.000}")]))
    fig.xaxis.major_label_orientation = 0.9
    fig.grid.grid_line_color = None
    fig.axis.axis_line_color = None
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


def graph_layout(nodes: Sequence[dict], edges: Sequence[dict], seed: int = 7) -> dict[str, tuple[float, float]]:
    """Return {node id: (x, y)}: a networkx spring layout with a fixed seed."""
    g = nx.Graph()
    g.add_nodes_from(n["id"] for n in nodes)
    g.add_weighted_edges_from((e["source"], e["target"], max(e["weight"], 1e-3)) for e in edges)
    pos = nx.spring_layout(g, seed=seed, weight="weight", k=1.2 / max(len(nodes), 1) ** 0.5)
    return {node: (float(x), float(y)) for node, (x, y) in pos.items()}


def graph(*, nodes: Sequence[dict], edges: Sequence[dict], title: str = "", target: str = "plot",
          kind_labels: dict[str, str] | None = None, weight_label: str = "weight") -> dict:
    """Return a `json_item` force-directed graph.

    `nodes`: {"id", "title", "kind" (history, recommended, focus, genre), "weight", "x", "y"};
    `edges`: {"source", "target", "weight"} (line width and alpha, relative to the largest).
    Node size grows with weight (relative to the heaviest); colour shows the kind.
    """
    kind_labels = kind_labels or {}
    where = {n["id"]: (n["x"], n["y"]) for n in nodes}
    es = [e for e in edges if e["source"] in where and e["target"] in where]
    strongest = max((e["weight"] for e in es), default=1.0) or 1.0
    heaviest = max((n["weight"] for n in nodes), default=1.0) or 1.0
    item = json.loads(_graph_template(title, weight_label))
    doc = item["doc"]
    _set_data(_named(doc, "graph-edges"), {
        "xs": [[where[e["source"]][0], where[e["target"]][0]] for e in es],
        "ys": [[where[e["source"]][1], where[e["target"]][1]] for e in es],
        "width": [1 + 7 * e["weight"] / strongest for e in es],
        "alpha": [0.25 + 0.6 * e["weight"] / strongest for e in es],
    })
    _set_data(_named(doc, "graph-nodes"), {
        "x": [n["x"] for n in nodes], "y": [n["y"] for n in nodes],
        "title": [n["title"] for n in nodes], "label": [short(n["title"], 18) for n in nodes],
        "kind": [kind_labels.get(n["kind"], n["kind"]) for n in nodes],
        "colour": [KIND_COLOURS.get(n["kind"], "#999999") for n in nodes],
        "size": [12 + 26 * max(n["weight"], 0.0) / heaviest for n in nodes],
        "weight": [float(n["weight"]) for n in nodes],
    })
    item["target_id"] = target
    return item


@lru_cache(maxsize=16)
def _graph_template(title: str, weight_label: str) -> str:
    fig = figure(title=title or None, height=460, sizing_mode="stretch_width", tools=TOOLS,
                 toolbar_location="above", match_aspect=True)
    edges = ColumnDataSource({"xs": [], "ys": [], "width": [], "alpha": []}, name="graph-edges")
    fig.multi_line("xs", "ys", line_width="width", line_alpha="alpha", line_color="#6b7280", source=edges)
    source = ColumnDataSource({k: [] for k in ("x", "y", "title", "label", "kind", "colour", "size", "weight")},
                              name="graph-nodes")
    nodes_r = fig.scatter("x", "y", size="size", fill_color="colour", line_color="white",
                          source=source, legend_field="kind")
    fig.add_layout(LabelSet(x="x", y="y", text="label", source=source, x_offset=8, y_offset=6,
                            text_font_size="10px", text_color="#374151"))
    fig.add_tools(HoverTool(renderers=[nodes_r],
                            tooltips=[("", "@title"), ("", "@kind"), (weight_label, "@weight{0.000}")]))
    fig.axis.visible = False
    fig.grid.visible = False
    legend = fig.legend[0]
    legend.orientation = "horizontal"
    legend.label_text_font_size = "11px"
    fig.add_layout(legend, "below")  # outside the drawing, so it never hides a node
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
