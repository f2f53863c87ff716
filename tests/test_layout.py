"""The tree keeps its architecture: imports go one way (scripts → stages → tracking, publishing →
pipeline → config), no module takes part in an import circle, and pipeline/ stays in rooms.

Imports are read from the source (every ``import`` and ``from … import``, inside functions and
``TYPE_CHECKING`` blocks too); importing ``a.b.c`` also runs ``a`` and ``a.b``, so those count.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "pipeline", "publishing", "tracking", "stages", "web", "accuracy", "scripts")
# a package may import those below it (lower number), and itself
LAYER = {"config": 0, "pipeline": 1, "publishing": 2, "tracking": 2, "stages": 3, "web": 3, "accuracy": 4, "scripts": 5}
MAX_TOP_MODULES = 16


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imported(name: str, path: Path, node: ast.AST, modules: dict[str, Path]) -> list[str]:
    """The modules of ours that one import statement runs."""
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    else:
        assert isinstance(node, ast.ImportFrom)
        if node.level:
            base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
            base = base[:len(base) - node.level + 1]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        targets = [f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in modules else prefix
                   for alias in node.names]
    scripts = {m.removeprefix("scripts.") for m in modules if m.startswith("scripts.")}
    out = []
    for target in targets:
        if name.startswith("scripts.") and target in scripts:
            target = f"scripts.{target}"  # the scripts import each other from their own folder
        parts = target.split(".")
        for i in range(1, len(parts) + 1):  # a.b.c runs a, a.b and a.b.c
            candidate = ".".join(parts[:i])
            if candidate in modules and candidate != name and not name.startswith(candidate + "."):
                out.append(candidate)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[name].update(_imported(name, path, node, modules))
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_imports_only_go_down_the_layers():
    wrong = [f"{a} -> {b}" for a, targets in sorted(_graph().items()) for b in sorted(targets)
             if LAYER[b.split(".")[0]] > LAYER[a.split(".")[0]]
             or (LAYER[b.split(".")[0]] == LAYER[a.split(".")[0]] and b.split(".")[0] != a.split(".")[0])]
    assert not wrong, "imports that go up or sideways:\n" + "\n".join(wrong)


def test_no_module_takes_part_in_an_import_circle():
    assert _circles(_graph()) == []


def test_the_graph_reader_sees_relative_dotted_and_script_imports_and_a_circle():
    """The graph reader itself: a relative import, the parents a dotted import runs, the scripts'
    own imports, and a circle made on purpose."""
    graph = _graph()
    assert {"pipeline.telemetry", "pipeline.telemetry.distribution"} <= graph["pipeline.sources.stats"]
    assert "pipeline.stage" in graph["stages.capture"] and "pipeline" in graph["stages.capture"]
    assert "scripts.benchlib" in graph["scripts.bench_sources"]
    looped = {k: set(v) for k, v in graph.items()}
    looped["pipeline.errors"].add("pipeline.config")  # config imports errors: now a circle
    assert any("pipeline.errors" in c and "pipeline.config" in c for c in _circles(looped))


def test_pipeline_keeps_its_rooms():
    top = sorted(p.stem for p in (ROOT / "pipeline").glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, top
    for room in ("sources", "outputs", "models", "telemetry", "ctl", "cluster", "lifetime", "quantize", "eval"):
        face = ROOT / "pipeline" / room / "__init__.py"
        assert face.exists() and ast.get_docstring(ast.parse(face.read_text())), f"pipeline/{room}: no face"
