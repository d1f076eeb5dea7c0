"""Plot builders return valid json_item dicts with no code-compiling models."""
import json

from explain import plots

CODE_MODELS = ("CustomJS", "CustomJSHover", "CustomJSTickFormatter", "CustomJSTransform", "CustomJSFilter")


def model_types(item: dict) -> set[str]:
    """Return every Bokeh model type named in a json_item document."""
    return {m["name"] for m in _models(item)}


def assert_valid(item: dict, target: str) -> set[str]:
    """Check the json_item shape, its JSON round trip and the absence of CustomJS."""
    assert item["target_id"] == target and item["root_id"]
    assert json.loads(json.dumps(item, allow_nan=False))["target_id"] == target  # strict JSON
    types = model_types(item)
    assert not types & set(CODE_MODELS), types
    assert "CustomJS" not in json.dumps(item)
    return types


def test_heatmap_is_a_json_item_without_customjs():
    """The weight heatmap is a figure of rects with a fixed 0-1 colour mapper and a hover tool."""
    item = plots.heatmap(rows=["A film", "B film"], columns=["X", "Y", "Y"],
                         values=[[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]],
                         hover=[("score change", [["+1", "0", "-1"], ["0", "0", "+2"]])], target="heat")
    types = assert_valid(item, "heat")
    assert {"Figure", "Rect", "LinearColorMapper", "HoverTool", "ColorBar"} <= types
    text = json.dumps(item)
    assert '"low":0.0' in text.replace(" ", "") and '"high":1.0' in text.replace(" ", "")


def test_effect_heatmap_has_a_fixed_diverging_scale_labelled_in_words():
    """Effects are drawn from -1 (red, lowered) to 1 (blue, raised); the colour bar says so in words."""
    item = plots.heatmap(rows=["A"], columns=["X", "Y"], values=[[-1.0, 0.5]], scale="effect",
                         legend=("lowered it", "no effect", "raised it"), target="heat")
    assert_valid(item, "heat")
    mapper = next(m for m in _models(item) if m["name"] == "LinearColorMapper")["attributes"]
    assert (mapper["low"], mapper["high"]) == (-1.0, 1.0)
    palette = mapper["palette"]
    assert palette[0] == "#b2182b" and palette[-1] == "#2166ac" and len(palette) == 256
    bar = next(m for m in _models(item) if m["name"] == "ColorBar")["attributes"]
    assert sorted(v for _k, v in bar["major_label_overrides"]["entries"]) == ["lowered it", "no effect", "raised it"]


def _models(item: dict) -> list[dict]:
    """Return every serialised Bokeh model of a json_item."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "object" and "name" in node:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(item["doc"])
    return found


def test_graph_is_a_json_item_with_scatter_nodes():
    """The graph uses Scatter nodes (not Circle) and a seeded, repeatable layout."""
    nodes = [{"id": "h1", "title": "Old", "kind": "history", "weight": 0.7},
             {"id": "r1", "title": "New", "kind": "focus", "weight": 1.0}]
    edges = [{"source": "h1", "target": "r1", "weight": 0.7}]
    pos = plots.graph_layout(nodes, edges)
    assert pos == plots.graph_layout(nodes, edges)
    placed = [{**n, "x": pos[n["id"]][0], "y": pos[n["id"]][1]} for n in nodes]
    types = assert_valid(plots.graph(nodes=placed, edges=edges, target="g"), "g")
    assert "Scatter" in types and "Circle" not in types


def test_spring_layout_is_networkx_fruchterman_reingold():
    """The page's own spring layout places nodes where networkx's ``spring_layout`` does
    (same start, cooling and forces), within 0.004 on a [-1, 1] frame, on graphs shaped as
    the page draws them: recommendations, the history items counting for them, genres."""
    import random

    import networkx as nx  # torch's dependency; the web process does without it
    import numpy as np

    rng = random.Random(0)
    for _graph in range(60):
        recs, hist, genres = rng.randint(1, 11), rng.randint(1, 20), rng.randint(0, 3)
        ids = [f"r{i}" for i in range(recs)] + [f"h{i}" for i in range(hist)] + [f"g{i}" for i in range(genres)]
        rng.shuffle(ids)
        edges = [(f"h{h}", f"r{r}", round(rng.uniform(1e-3, 1), 4))
                 for r in range(recs) for h in rng.sample(range(hist), min(3, hist))]
        edges += [e for g in range(genres) for e in [(f"g{g}", "r0", 0.2), (f"g{g}", f"h{rng.randrange(hist)}", 0.1)]]
        g = nx.Graph()
        g.add_nodes_from(ids)
        g.add_weighted_edges_from(edges)
        theirs = nx.spring_layout(g, seed=7, weight="weight", k=2.5 / len(ids) ** 0.5, iterations=200)
        ours = plots.spring_layout(tuple(ids), tuple(edges), 7)
        assert np.abs(np.array([theirs[i] for i in ids]) - np.array([ours[i] for i in ids])).max() < 0.004
    assert plots.spring_layout(("a",), (), 7) == {"a": (0.0, 0.0)} and plots.spring_layout((), (), 7) == {}


def test_graph_labels_only_the_strongest_nodes_and_never_overlapping():
    """Many nodes: the focus is labelled, at most 6 labels, none overlapping another label or
    another dot in the narrowest frame, none leaving it; the legend sits inside the frame,
    in the band no node reaches."""
    nodes = [{"id": "r0", "title": "The recommendation itself", "kind": "focus", "weight": 1.0, "x": 0.05, "y": 0.1}]
    nodes += [{"id": f"h{k}", "title": f"A rather long film title {k}", "kind": "history", "weight": 1 - k / 30,
               "x": -1 + (k % 4) * 0.66, "y": -1 + (k // 4) * 0.4} for k in range(24)]
    labels = plots.graph_labels(nodes)
    shown = [i for i, label in enumerate(labels) if label["text"]]
    assert labels[0]["text"] and 1 < len(shown) <= 6
    W, H = plots.NARROW_FRAME_PX
    (x0, x1), (y0, y1) = plots.X_RANGE, plots.Y_RANGE
    px = [((n["x"] - x0) / (x1 - x0) * W, (n["y"] - y0) / (y1 - y0) * H) for n in nodes]
    dots = [(x - d / 2, x + d / 2, y - d / 2, y + d / 2) for (x, y), d in zip(px, plots.node_sizes(nodes), strict=True)]
    boxes = {}
    for i in shown:
        w = plots._text_px(labels[i]["text"])
        left = px[i][0] + labels[i]["offset"] - {"right": w, "left": 0, "center": w / 2}[labels[i]["align"]]
        y = (labels[i]["y"] - y0) / (y1 - y0) * H
        boxes[i] = (left, left + w, y - 8, y + 8)

    def overlap(a, b):
        return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]

    for i, box in boxes.items():
        assert 0 <= box[0] and box[1] <= W
        assert not [j for j in boxes if j != i and overlap(box, boxes[j])]
        assert i == 0 or not [j for j, dot in enumerate(dots) if j != i and overlap(box, dot)]
    item = plots.graph(nodes=nodes, edges=[], target="g")
    legend = next(m for m in _models(item) if m["name"] == "Legend")["attributes"]
    assert legend["location"] == "top_left"
    figure = item["doc"]["roots"][0]["attributes"]
    assert all(m.get("name") != "Legend" for side in ("below", "above", "left", "right") for m in figure.get(side, []))
    assert max(n["y"] for n in nodes) < plots.Y_RANGE[1] - 0.4  # the legend's band stays free


def test_training_curves_json_item():
    """Training curves skip epochs without a validation figure."""
    item = plots.training_curves(runs=[{"label": "run 1", "epochs": [1, 2], "ndcg": [0.1, None]}],
                                 target="c")
    assert "Line" in assert_valid(item, "c")


def test_filled_template_matches_a_fresh_build():
    """Data put into the cached structure lands in the source and the ranges."""
    item = plots.heatmap(rows=["A"], columns=["X", "Y"], values=[[0.25, 0.75]], target="h")
    source = plots._named(item["doc"], "heat-source")["attributes"]["data"]["entries"]
    assert dict((k, v) for k, v in source)["value"] == [0.25, 0.75]
    assert plots._named(item["doc"], "heat-x")["attributes"]["factors"] == ["X", "Y"]
    again = plots.heatmap(rows=["B", "C"], columns=["Z"], values=[[1.0], [0.0]], target="h")
    assert plots._named(again["doc"], "heat-y")["attributes"]["factors"] == ["C", "B"]
    assert plots._named(item["doc"], "heat-x")["attributes"]["factors"] == ["X", "Y"]  # no sharing
