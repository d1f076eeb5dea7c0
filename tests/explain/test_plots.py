"""Plot builders return valid json_item dicts with no code-compiling models."""
import json

from explain import plots

CODE_MODELS = ("CustomJS", "CustomJSHover", "CustomJSTickFormatter", "CustomJSTransform", "CustomJSFilter")


def model_types(item: dict) -> set[str]:
    """Return every Bokeh model type named in a json_item document."""
    types: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "object" and "name" in node:
                types.add(node["name"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(item["doc"])
    return types


def assert_valid(item: dict, target: str) -> set[str]:
    """Check the json_item shape, its JSON round trip and the absence of CustomJS."""
    assert item["target_id"] == target and item["root_id"]
    assert json.loads(json.dumps(item, allow_nan=False))["target_id"] == target  # strict JSON
    types = model_types(item)
    assert not types & set(CODE_MODELS), types
    assert "CustomJS" not in json.dumps(item)
    return types


def test_heatmap_is_a_json_item_without_customjs():
    """The heatmap is a figure of rects with a fixed 0-1 colour mapper and a hover tool."""
    item = plots.heatmap(rows=["A film", "B film"], columns=["X", "Y", "Y"],
                         weights=[[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]], loo=[[1, 0, -1], [0, 0, 2]],
                         target="heat")
    types = assert_valid(item, "heat")
    assert {"Figure", "Rect", "LinearColorMapper", "HoverTool", "ColorBar"} <= types
    text = json.dumps(item)
    assert '"low":0.0' in text.replace(" ", "") and '"high":1.0' in text.replace(" ", "")


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


def test_training_curves_json_item():
    """Training curves skip epochs without a validation figure."""
    item = plots.training_curves(runs=[{"label": "run 1", "epochs": [1, 2], "ndcg": [0.1, None]}],
                                 target="c")
    assert "Line" in assert_valid(item, "c")


def test_filled_template_matches_a_fresh_build():
    """Data put into the cached structure lands in the source and the ranges."""
    item = plots.heatmap(rows=["A"], columns=["X", "Y"], weights=[[0.25, 0.75]], target="h")
    source = plots._named(item["doc"], "heat-source")["attributes"]["data"]["entries"]
    assert dict((k, v) for k, v in source)["weight"] == [0.25, 0.75]
    assert plots._named(item["doc"], "heat-x")["attributes"]["factors"] == ["X", "Y"]
    again = plots.heatmap(rows=["B", "C"], columns=["Z"], weights=[[1.0], [0.0]], target="h")
    assert plots._named(again["doc"], "heat-y")["attributes"]["factors"] == ["C", "B"]
    assert plots._named(item["doc"], "heat-x")["attributes"]["factors"] == ["X", "Y"]  # no sharing
