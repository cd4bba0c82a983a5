"""The house's layout: the import graph of ``src/srdistill`` has no circle, and the
layers below the config facade never reach up to it.

Every import counts, those inside functions too (a lazy import is still an arrow: it
runs whenever the function does). ``from srdistill.a import b`` is an arrow to
``srdistill.a.b`` when that is a module, else to ``srdistill.a``.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "srdistill"


def module_name(path: Path) -> str:
    parts = ["srdistill", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative import
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names
                ]
            graph[name] |= {t for t in targets if t in files and t != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
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


def test_the_import_graph_has_no_circle():
    found = circles(import_graph())
    assert not found, "import circles: " + "; ".join(" <-> ".join(c) for c in found)


def test_registries_and_layers_below_the_facade_never_import_it():
    # srdistill.config loads the built-ins and plugins, so it sits above them; everything
    # it loads reads the schema (srdistill.schema) instead.
    graph = import_graph()
    below = ("srdistill.models", "srdistill.methods", "srdistill.engine", "srdistill.losses")
    offenders = sorted(
        m for m, deps in graph.items() if m.startswith(below) and "srdistill.config" in deps
    )
    assert not offenders, f"these import srdistill.config (use srdistill.schema): {offenders}"


def test_the_schema_names_no_architecture_or_method():
    graph = import_graph()
    assert not {d for d in graph["srdistill.schema"] if d != "srdistill.errors"}


def test_the_graph_reader_sees_lazy_and_relative_imports(tmp_path):
    # The checker itself must be able to fail: a function-level import is an arrow.
    graph = import_graph()
    assert "srdistill.deploy.loading" in graph["srdistill.methods.kd"]  # inside load_teacher
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_each_study_is_a_declaration_under_300_lines():
    studies = sorted((SRC / "reproduce").glob("study_?.py"))
    assert len(studies) >= 3, "study_a, study_b and study_c are declared"
    long = {p.name: n for p in studies if (n := len(p.read_text().splitlines())) >= 300}
    assert not long, f"a study declares arms and findings; move shared code to the runner: {long}"
