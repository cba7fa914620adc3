"""The import graph of the first-party packages: no cycles, and none hidden in a function.

Read from the source (``ast``), so the test needs no import side effects: a module-level import
is an edge, importing ``a.b.c`` also runs the packages ``a`` and ``a.b``, and imports under
``if TYPE_CHECKING:`` are left out (they never run). A function-local import is allowed (lazy
imports keep the command line quick to start) unless moving it to the top would close a cycle:
then it only hides the cycle, and the shared piece belongs in a module of its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("study", "pipelines", "questionnaires", "dashboards")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()
TREES = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in MODULES.items()}


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _targets(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.module is None or node.level:
        return []
    return [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]


def _edges(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    out = set()
    for target in _targets(node):
        resolved = _resolve(target)
        if resolved is None or resolved == module:
            continue
        out.add(resolved)
        parts = resolved.split(".")
        for i in range(1, len(parts)):  # importing a submodule runs its parents' __init__
            parent = ".".join(parts[:i])
            if parent in MODULES and parent != module and not module.startswith(parent + "."):
                out.add(parent)
    return out


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, tree in TREES.items():
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                graph[name] |= _edges(name, node)
    return graph


GRAPH = _graph()


def _path(start: str, goal: str) -> list[str] | None:
    """A chain of module-level imports from ``start`` to ``goal`` (breadth first), if any."""
    previous: dict[str, str | None] = {start: None}
    todo = [start]
    while todo:
        current = todo.pop(0)
        if current == goal:
            chain = [current]
            while previous[chain[-1]] is not None:
                chain.append(previous[chain[-1]])  # type: ignore[arg-type]
            return chain[::-1]
        for nxt in sorted(GRAPH[current]):
            if nxt not in previous:
                previous[nxt] = current
                todo.append(nxt)
    return None


def test_the_graph_sees_the_packages_and_their_imports():
    # A parser that found nothing would pass every check below.
    assert len(MODULES) > 150
    assert "study.db.audit_capture" in GRAPH["study.db.engine"]
    assert "study.db" in GRAPH["study.audit"]  # via study.db.models: the parent package runs


def test_no_module_level_import_cycle():
    cycles = []
    for module, deps in GRAPH.items():
        for dep in deps:
            back = _path(dep, module)
            if back is not None:
                cycles.append(" -> ".join([module, *back]))
    assert not cycles, "import cycles:\n" + "\n".join(sorted(set(cycles))[:10])


def test_no_function_local_import_hides_a_cycle():
    hidden = []
    for module, tree in TREES.items():
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if id(node) in top or not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for dep in _edges(module, node):
                back = _path(dep, module)
                if back is not None:
                    hidden.append(
                        f"{MODULES[module].relative_to(ROOT)}:{node.lineno} imports {dep}, "
                        f"which imports it back: {' -> '.join(back)}"
                    )
    assert not hidden, "function-local imports that only avoid a cycle:\n" + "\n".join(hidden)
