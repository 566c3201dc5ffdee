"""The dependency rules of docs/ARCHITECTURE.md, read from the code's imports (module level and inside
functions alike, with ``ast``): data flows one way, and the web layer never reaches a build stage."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "kg"
#: What makes a build's graphs: only the build (and the command that starts it) may reach these.
BUILD_STAGES = {"kg.build"}
#: Validation and the reasoning it needs: the web reaches them only through partner checks and imports.
VALIDATION = {"kg.validation.shacl_check", "kg.reasoning", "kg.validation.shacl"}
#: Every folder of kg/ with the folders each may import (besides the shared modules directly in kg/):
#: data flows one way, seeds -> build -> reasoning -> validation -> store -> exchange / serving / web.
LAYERS = {
    "kg.limits": set(),
    "kg.store": {"kg.limits"},
    "kg.reasoning": set(),
    "kg.validation": {"kg.reasoning", "kg.store", "kg.limits"},
    "kg.build": {"kg.reasoning", "kg.validation", "kg.store", "kg.limits"},
    "kg.exchange": {"kg.reasoning", "kg.validation", "kg.store", "kg.limits"},
    "kg.serving": {"kg.store", "kg.limits", "kg.web"},
    "kg.web": {"kg.serving", "kg.exchange", "kg.validation", "kg.store", "kg.limits"},
}
#: The server that runs the web app, and may import it.
SERVER = {"kg.serving.server", "kg.serving.front", "kg.serving.front_connection", "kg.cli"}


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
                found.update(
                    f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in names
                )
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
    assert {"kg.web", "kg.web.protocol", "kg.build.pipeline", "kg.validation.shacl"} <= set(imports())
    assert "kg.build.pipeline" in reached("kg.cli") and "kg.store.embedded" in imports()["kg.web"]


def test_the_web_layer_never_reaches_a_build_stage():
    for module in (m for m in imports() if _in(m, {"kg.web"})):
        assert not {name for name in reached(module) if _in(name, BUILD_STAGES)}, module


def test_the_web_layer_reaches_validation_only_through_partner_checks_and_imports():
    for module in (m for m in imports() if _in(m, {"kg.web"})):
        assert not {name for name in imports()[module] if _in(name, VALIDATION)}, module


def test_only_the_command_line_knows_the_order_of_the_build():
    importers = {m for m, names in imports().items() if "kg.build.pipeline" in names}
    assert "kg.cli" in importers and all(_in(m, {"kg.cli"}) for m in importers), importers  # the kg.cli package


def test_each_folder_imports_only_the_folders_below_it():
    shared = {m for m in imports() if m.count(".") == 1 and m not in LAYERS}  # kg.config, kg.errors, ...
    assert {"kg.config", "kg.errors", "kg.namespaces"} <= shared
    for module, names in imports().items():
        layer = next((folder for folder in LAYERS if _in(module, {folder})), None)
        if layer is None:
            continue
        allowed = {layer} | LAYERS[layer] | shared | {"kg"}
        assert {n for n in names if not _in(n, allowed)} == set(), module


def test_the_shared_modules_import_no_folder():
    shared = {m for m in imports() if m.count(".") == 1 and m not in LAYERS and m != "kg.cli"}
    for module in shared:
        assert {n for n in imports()[module] if _in(n, set(LAYERS))} == set(), module


def test_nothing_below_the_web_layer_imports_it():
    importers = {
        m for m, names in imports().items() if not _in(m, {"kg.web"}) and any(_in(n, {"kg.web"}) for n in names)
    }
    assert importers <= SERVER, importers - SERVER


def test_no_module_of_kg_is_over_400_lines():
    """One responsibility per module keeps each short: past 400 lines a module is split."""
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}
