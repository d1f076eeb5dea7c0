"""The import graph: no cycle between modules, and imports go one way, down the layers.

Read from the source (AST), function-level imports included, so an import hidden inside
a function to dodge a cycle at load time still counts.
"""
import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("recsite", "recommender", "explain")

# Lowest first: a module may import its own layer and the layers below it, never above.
# The first prefix that matches a module names its layer.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("the ML core (torch only)", ("recommender.ml",)),
    ("the project's base: accounts, settings, logging, task dispatch",
     ("recsite.accounts", "recsite.settings", "recsite.logging", "recsite.csp", "recsite.errors",
      "recsite.axes_app", "recsite.dispatch", "recsite.celery")),
    ("the tables and the catalogue: items, genres, titles, item texts and search",
     ("recommender.models", "recommender.catalogue", "recommender.text")),
    ("activity: what people do and choose (events, controls, preferences)", ("recommender.activity",)),
    ("training and serving", ("recommender.training", "recommender.serving")),
    ("the recommender's surfaces: pages, feeds, admin, tasks, importers, commands", ("recommender",)),
    ("explanations", ("explain",)),
    ("the REST API", ("recommender.api",)),
    ("the project's entry points: urls, web and worker processes", ("recsite",)),
]
# More specific prefixes first, whatever their layer.
_PREFIXES = sorted(((p, i) for i, (_, ps) in enumerate(LAYERS) for p in ps), key=lambda x: -len(x[0]))


def layer_of(module: str) -> int:
    for prefix, i in _PREFIXES:
        if module == prefix or module.startswith(prefix + "."):
            return i
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Return module -> the project modules it imports (package __init__ files run on
    import, but ``from package import module`` is an edge to the module alone)."""
    known = modules()

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
                targets = subs if len(subs) == len(node.names) else [base, *subs]
            else:
                continue
            for target in targets:
                found = resolve(target)
                if found and found != name:
                    edges[name].add(found)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        out.append(sorted(component))
    return out


def test_no_module_imports_another_that_imports_it_back():
    assert cycles(import_graph()) == []


def test_imports_go_down_the_layers():
    wrong = [f"{a} ({LAYERS[layer_of(a)][0]}) imports {b} ({LAYERS[layer_of(b)][0]})"
             for a, targets in sorted(import_graph().items()) for b in sorted(targets)
             if layer_of(b) > layer_of(a)]
    assert wrong == []


def test_the_checks_see_a_cycle_and_an_import_against_the_layers():
    """The checks themselves: a made-up cycle is found, and so is an upward import."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert layer_of("recommender.ml.model") < layer_of("recommender.catalogue.selectors") \
        < layer_of("recommender.activity.services") < layer_of("recommender.training.runs") \
        == layer_of("recommender.serving.scoring") < layer_of("recommender.views") < layer_of("explain.compute")
    assert layer_of("explain.compute") < layer_of("recommender.api.views") < layer_of("recsite.urls")
    graph = import_graph()
    assert "recommender.serving.scoring" in graph["explain.compute"]  # function-level and module-level alike
    assert "recommender.training.runner" in graph["recommender.tasks"]  # imported inside a task
