"""The layer's package imports in one direction: no module reaches itself through its imports.

Every import counts: at the top of a module, inside a function, relative or absolute. Importing a
submodule is an edge to that submodule only; the parent package that Python initialises on the way
is not counted, or every package whose __init__ imports its own modules would be a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "layers" / "healthaudit" / "healthaudit"
EXCLUDED = ("healthaudit.sandbox",)  # the emulator, on its way out of the layer (issue 17)


def module_names(root: Path) -> dict[str, Path]:
    """Dotted module name → file, for every module of the package under `root`."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = (root.name, *path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        if not any(name == excluded or name.startswith(excluded + ".") for excluded in EXCLUDED):
            modules[name] = path
    return modules


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that module `name` imports, anywhere in its body."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(_innermost_module(alias.name, known) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(name, is_package, node.level, node.module)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else _innermost_module(base, known))
    found.discard("")
    found.discard(name)  # `from . import x` inside a package's own __init__ resolves to x, not to itself
    return found


def _resolve(name: str, is_package: bool, level: int, module: str | None) -> str:
    if level == 0:
        return module or ""
    package = name.split(".") if is_package else name.split(".")[:-1]
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _innermost_module(dotted: str, known: set[str]) -> str:
    """`healthaudit.checks.registry.check` → `healthaudit.checks.registry`; "" outside the package."""
    parts = dotted.split(".")
    while parts and ".".join(parts) not in known:
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    modules = module_names(root)
    known = set(modules)
    return {name: imported_modules(name, path, known) for name, path in modules.items()}


def first_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle as the modules along it (the first one repeated at the end), or None."""
    finished: set[str] = set()
    for start in sorted(graph):
        if start in finished:
            continue
        path = [start]
        unexplored = [iter(sorted(graph[start]))]
        while path:
            following = next(unexplored[-1], None)
            if following is None:
                finished.add(path.pop())
                unexplored.pop()
            elif following in path:
                return [*path[path.index(following) :], following]
            elif following not in finished:
                path.append(following)
                unexplored.append(iter(sorted(graph[following])))
    return None


def test_the_package_import_graph_has_no_cycle():
    graph = import_graph(PACKAGE_ROOT)
    assert "healthaudit.config" in graph and "healthaudit.checks.registry" in graph
    cycle = first_cycle(graph)
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])


def _write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "healthaudit"


def test_a_cycle_through_a_relative_import_inside_a_function_is_named(tmp_path):
    package = _write(
        tmp_path,
        {
            "healthaudit/__init__.py": "",
            "healthaudit/config.py": "def known():\n    from .checks.registry import REGISTRY\n",
            "healthaudit/checks/__init__.py": "",
            "healthaudit/checks/registry.py": "from ..config import known\n",
        },
    )
    assert first_cycle(import_graph(package)) == [
        "healthaudit.checks.registry",
        "healthaudit.config",
        "healthaudit.checks.registry",
    ]


def test_absolute_and_from_package_imports_are_edges_and_a_dag_passes(tmp_path):
    package = _write(
        tmp_path,
        {
            "healthaudit/__init__.py": "",
            "healthaudit/audit.py": "import healthaudit.collect.snapshot\nfrom .checks import catalogue\n",
            "healthaudit/checks/__init__.py": "",
            "healthaudit/checks/catalogue.py": "from . import throttled\n",
            "healthaudit/checks/throttled.py": "from .registry import check\n",
            "healthaudit/checks/registry.py": "from healthaudit.model import Finding\n",
            "healthaudit/collect/__init__.py": "",
            "healthaudit/collect/snapshot.py": "from ..model import Finding\n",
            "healthaudit/model.py": "import json\n",
        },
    )
    graph = import_graph(package)
    assert graph["healthaudit.audit"] == {"healthaudit.collect.snapshot", "healthaudit.checks.catalogue"}
    assert graph["healthaudit.checks.catalogue"] == {"healthaudit.checks.throttled"}
    assert graph["healthaudit.checks.registry"] == {"healthaudit.model"}
    assert first_cycle(graph) is None
    (package / "model.py").write_text("def late():\n    import healthaudit.audit\n")
    assert first_cycle(import_graph(package)) == [
        "healthaudit.audit",
        "healthaudit.checks.catalogue",
        "healthaudit.checks.throttled",
        "healthaudit.checks.registry",
        "healthaudit.model",
        "healthaudit.audit",
    ]
