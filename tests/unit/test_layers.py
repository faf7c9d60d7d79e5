"""The tree keeps its shape: runtime's layers import only what their docstrings allow, no
module takes part in an import circle, and no folder grows past 15 modules.

Every import statement counts, inside functions too, found by walking each module's AST; only
imports under `if TYPE_CHECKING:` are left out, since they never run.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("runtime", "cli", "tasks")
MAX_MODULES = 15

# The pure layers may use only these outside the standard library.
PURE_THIRD_PARTY = {"yaml", "jsonschema", "croniter"}
# Nothing in runtime/ may use these (the CLI and the task store are layers of their own).
NEVER_IN_RUNTIME = {"click", "sqlalchemy", "alembic", "cli", "tasks"}
# Each runtime layer and the runtime layers it may import (itself included).
LAYERS: dict[str, set[str]] = {
    "config": {"config"},
    "compiler": {"config", "compiler"},
    "review": {"config", "compiler", "review"},
    "broker": {"config", "compiler", "broker"},
    "celeryapp": {"config", "compiler", "broker", "celeryapp"},
    "sending": {"config", "compiler", "broker", "celeryapp", "sending"},
    "process": {"config", "compiler", "review", "broker", "celeryapp", "sending", "process"},
}
PURE = {"config", "compiler", "review"}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((REPO / package).rglob("*.py"))
        if "__pycache__" not in path.parts
    }


MODULES = all_modules()


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for child in ast.iter_child_nodes(tree):
        if _type_checking_only(child):
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        yield from _imports(child)


def imported_names(path: Path) -> Iterator[str]:
    """Every dotted name a module imports; `from a import b` gives `a.b` when that is a module."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            yield candidate if candidate in MODULES else base


def graph() -> dict[str, set[str]]:
    return {
        name: {target for target in imported_names(path) if target in MODULES and target != name}
        for name, path in MODULES.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
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
            child = next(children, None)
            if child is None:
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
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_the_cycle_finder_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles() -> None:
    assert cycles(graph()) == []


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "runtime" and len(parts) >= 2 else None


def test_every_runtime_module_sits_in_a_layer() -> None:
    loose = [m for m in MODULES if m.startswith("runtime.") and _layer(m) not in LAYERS]
    assert loose == [], "every module under runtime/ belongs to one of the layer packages"
    assert set(LAYERS) == {
        p.name for p in (REPO / "runtime").iterdir() if (p / "__init__.py").exists()
    }


@pytest.mark.parametrize(
    "module", sorted(m for m in MODULES if m.startswith("runtime.")), ids=str
)
def test_runtime_layers_import_only_what_they_may(module: str) -> None:
    layer = _layer(module) or ""
    wrong = []
    for target in imported_names(MODULES[module]):
        top = target.split(".")[0]
        if top == "runtime":
            target_layer = _layer(target) or target
            if target_layer not in LAYERS.get(layer, set()):
                wrong.append(target)
        elif top in NEVER_IN_RUNTIME:
            wrong.append(target)
        elif layer in PURE and top not in sys.stdlib_module_names | PURE_THIRD_PARTY:
            wrong.append(target)
    assert wrong == [], f"runtime.{layer} may import only {sorted(LAYERS.get(layer, ()))}"


def test_every_layer_says_what_it_may_import() -> None:
    for layer in LAYERS:
        doc = ast.get_docstring(ast.parse((REPO / "runtime" / layer / "__init__.py").read_text()))
        assert doc and "May import" in doc, layer


def test_no_folder_holds_more_than_fifteen_modules() -> None:
    folders: dict[Path, int] = {}
    for package in (*PACKAGES, "bench"):
        for path in (REPO / package).rglob("*.py"):
            if "__pycache__" not in path.parts:
                folders[path.parent] = folders.get(path.parent, 0) + 1
    crowded = {str(p.relative_to(REPO)): n for p, n in folders.items() if n > MAX_MODULES}
    assert crowded == {}
