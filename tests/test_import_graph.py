"""The import graph of ``src/latentwatch``: no cycles (imports inside functions count too),
the three wings do not know one another, and no output imports the command line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "latentwatch"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The most specific module of ours that ``name`` names."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> set[str]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    base = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            origin = node.module or ""
            if node.level:
                origin = ".".join(base.split(".")[:len(base.split(".")) - node.level + 1]
                                  + ([origin] if origin else []))
            names = [f"{origin}.{alias.name}" for alias in node.names] + [origin]
        else:
            continue
        for name in names:
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                target = _resolve(name)
                if target is not None and target != module:
                    found.add(target)
    return found


GRAPH = {module: _imports(module) for module in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return out


def _parents_dropped(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """A package's ``__init__`` re-exports its modules; a module importing a sibling
    through its package is not a cycle, so edges from a module to its own packages go."""
    return {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in graph.items()}


def test_the_graph_is_read():
    assert "latentwatch.detector" in GRAPH["latentwatch.cli.fit"] | set().union(
        *GRAPH.values())
    assert "latentwatch.persistence" in GRAPH["latentwatch.base"]


def test_there_are_no_import_cycles():
    assert _cycles(_parents_dropped(GRAPH)) == []


def _reaches(module: str, graph=GRAPH) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        for nxt in graph[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@pytest.mark.parametrize("wing, others", [
    ("latentwatch.data", ("latentwatch.models", "latentwatch.engine")),
    ("latentwatch.models", ("latentwatch.data", "latentwatch.engine")),
    ("latentwatch.engine", ("latentwatch.data", "latentwatch.models")),
])
def test_the_wings_do_not_know_one_another(wing, others):
    for module, targets in GRAPH.items():
        if module == wing or module.startswith(wing + "."):
            wrong = [t for t in targets if any(t == o or t.startswith(o + ".") for o in others)]
            assert not wrong, f"{module} imports {wrong}"


OUTPUTS = ("latentwatch.server", "latentwatch.service", "latentwatch.report",
           "latentwatch.distributed", "latentwatch.explain", "latentwatch.generate",
           "latentwatch.streamed", "latentwatch.pipeline", "latentwatch.persistence")


@pytest.mark.parametrize("output", [o for o in OUTPUTS if o in MODULES])
def test_no_output_imports_the_command_line(output):
    modules = [m for m in MODULES if m == output or m.startswith(output + ".")]
    for module in modules:
        wrong = sorted(t for t in _reaches(module) if t.startswith("latentwatch.cli"))
        assert not wrong, f"{module} reaches {wrong}"


def test_persistence_is_the_file_format_only():
    assert not {t for t in _reaches("latentwatch.persistence")
                if t in ("latentwatch.detector", "latentwatch.base")}
