"""The dependency rules of docs/ARCHITECTURE.md, read from the code's imports (module level and inside
functions alike, with ``ast``): data flows one way, and the web layer never reaches a build stage."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "kg"
#: What makes a build's graphs: only the build (and the command that starts it) may reach these.
BUILD_STAGES = {"kg.pipeline", "kg.tables", "kg.mapping", "kg.provenance", "kg.display"}
#: Validation and the reasoning it needs: the web reaches them only through partner checks and imports.
VALIDATION = {"kg.validate", "kg.reason", "kg.rules", "kg.shacl"}
#: The server that runs the web app, and may import it.
SERVER = {"kg.serve", "kg.front", "kg.front_connection", "kg.cli"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def imports() -> dict[str, frozenset[str]]:
    """Each module of kg and the kg modules it imports anywhere in its text."""
    names = {_module_name(path) for path in PACKAGE.rglob("*.py")}
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("kg"):
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names
                             if f"{node.module}.{alias.name}" in names)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name.startswith("kg"))
        graph[_module_name(path)] = frozenset(found)
    return graph


def reached(module: str) -> set[str]:
    """Every module ``module`` imports, directly or through others."""
    seen, todo = set(), [module]
    while todo:
        for name in imports().get(todo.pop(), ()):
            if name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


def _in(name: str, group: set[str]) -> bool:
    return any(name == g or name.startswith(g + ".") for g in group)


def test_the_graph_is_read_from_the_code():
    assert {"kg.web", "kg.web.protocol", "kg.pipeline", "kg.shacl"} <= set(imports())
    assert "kg.pipeline" in reached("kg.cli") and "kg.store.embedded" in imports()["kg.web"]


def test_the_web_layer_never_reaches_a_build_stage():
    for module in (m for m in imports() if _in(m, {"kg.web"})):
        assert not {name for name in reached(module) if _in(name, BUILD_STAGES)}, module


def test_the_web_layer_reaches_validation_only_through_partner_checks_and_imports():
    for module in (m for m in imports() if _in(m, {"kg.web"})):
        assert not {name for name in imports()[module] if _in(name, VALIDATION)}, module


def test_only_the_command_line_knows_the_order_of_the_build():
    assert {m for m, names in imports().items() if "kg.pipeline" in names} == {"kg.cli"}


def test_nothing_below_the_web_layer_imports_it():
    importers = {m for m, names in imports().items() if not _in(m, {"kg.web"}) and any(_in(n, {"kg.web"}) for n in names)}
    assert importers <= SERVER, importers - SERVER
