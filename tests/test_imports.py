"""The import graph between dyn's packages has no cycle, nor between its modules (imports inside functions
counted), and the engine never imports a flow by name."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules():
    """(module name, its parsed source) of every file of dyn and of cli/ (packaged as dyn.cli)."""
    for path in sorted((ROOT / "dyn").rglob("*.py")):
        yield ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"), ast.parse(path.read_text())
    for path in sorted((ROOT / "cli").rglob("*.py")):
        yield "dyn.cli." + path.stem, ast.parse(path.read_text())


def imports(tree):
    """Every dyn module a file imports, at module level or inside a function."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "dyn":
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] == "dyn")


def graph(level):
    """Edges between the first ``level`` parts of module names (2: packages such as dyn.engine)."""
    cut = lambda name: ".".join(name.split(".")[:level])  # noqa: E731
    edges = {}
    for name, tree in modules():
        src = cut(name)
        edges.setdefault(src, set()).update(t for t in map(cut, imports(tree)) if t != src and t != "dyn")
    return edges


def cycle(edges):
    """A cycle of ``edges`` as a list of nodes, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_packages_import_each_other_without_a_cycle():
    edges = graph(2)
    assert "dyn.flows" in edges["dyn.render"] or "dyn.flows" in edges["dyn.api"]  # the graph is really read
    assert cycle(edges) is None, " -> ".join(cycle(edges))


def module_graph():
    """Edges between modules: ``from a.b import c`` is an edge to ``a.b.c`` where that is a module, else to ``a.b``;
    a module's import of its own package (``from dyn.study import store`` in dyn.study.run) is not counted."""
    trees = dict(modules())
    edges = {}
    for name, tree in trees.items():
        out = edges.setdefault(name, set())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "dyn":
                subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in trees]
                out.update(subs or [node.module])
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names if a.name in trees)
        out.discard(name)
        out.difference_update({t for t in out if name.startswith(t + ".")})
    return edges


def test_the_modules_import_each_other_without_a_cycle():
    edges = module_graph()
    assert "dyn.study.keep" in edges["dyn.study.spec"]  # the graph is really read
    assert cycle(edges) is None, " -> ".join(cycle(edges))


def test_the_cycle_finder_finds_one():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_engine_never_imports_a_flow():
    for name, tree in modules():
        if name.startswith("dyn.engine"):
            assert not [m for m in imports(tree) if m.startswith("dyn.flows")], name
