"""The package's layers: imports run one way, with no cycles, and ``import expfam`` stays light.

    _numerics  <-  _core  <-  families  <-  {_training, _geometry, _bayes}  <-  expfam (public API)  <-  cli

Each layer imports only the layers below it (the three upper ones not each other); ``cli`` and
``examples/`` import only the public API (``expfam``) and the CLI's own modules.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "expfam"

#: The layer of each top-level part of the package; a module may import from lower layers only
#: (and from its own part).
LAYERS = {
    "_numerics": 0,
    "_core": 1,
    "families": 2,
    "_training": 3,
    "_geometry": 3,
    "_bayes": 3,
    "__init__": 4,
    "cli": 5,
    "__main__": 6,
}


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: pathlib.Path) -> set[str]:
    """The expfam modules a file imports (``from expfam.x import y`` counts ``expfam.x.y`` if a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "expfam"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "expfam":
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (ROOT / pathlib.Path(*candidate.split("."))).with_suffix(".py").exists() or (
                    ROOT / pathlib.Path(*candidate.split("."))
                ).is_dir()
                found.add(candidate if is_module else node.module)
    return found


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "data" not in p.parts}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_down_the_layers(module):
    part = _part(module)
    for imported in _imports(MODULES[module]):
        target = _part(imported)
        if part == "cli":
            assert imported == "expfam" or imported.startswith("expfam.cli"), f"{module} imports {imported}"
        elif target != part:
            assert LAYERS[target] < LAYERS[part], f"{module} (layer {part}) imports {imported} (layer {target})"


def test_no_import_cycles():
    graph = {m: {i for i in _imports(p) if i in MODULES and i != m} for m, p in MODULES.items()}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if nxt == "expfam" or node == "expfam":
                continue
            assert state.get(nxt) != 1, "import cycle: " + " -> ".join([*path, node, nxt])
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for module in graph:
        if module not in state:
            visit(module, [])


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.py")), ids=lambda p: p.name)
def test_examples_use_the_public_api(example):
    private = {i for i in _imports(example) if any(part.startswith("_") for part in i.split(".")[1:])}
    assert not private, f"{example.name} imports {private}"


def test_import_expfam_is_light():
    heavy = ("optax", "expfam.cli", "chex", "scipy", "mpmath", "matplotlib")
    code = f"import sys, expfam; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
