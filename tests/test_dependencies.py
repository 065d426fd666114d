"""Every runtime dependency declared in pyproject.toml is imported by the hsibench package (none is decorative)."""

from __future__ import annotations

import ast
import re
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")


def runtime_dependencies() -> list[str]:
    """Distribution names of ``[project] dependencies`` (version specifiers and markers stripped)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [re.split(r"[<>=!~;\[ ]", dep, maxsplit=1)[0] for dep in project["dependencies"]]


#: calls that import the module named by their first argument (a string constant)
IMPORTING_CALLS = {"lazy_module", "import_module"}  # hsibench._lazy.lazy_module, importlib.import_module


def imported_modules() -> set[str]:
    """Top-level modules named by any import in hsibench/: statements (inside functions too) and
    ``lazy_module("name")`` / ``importlib.import_module("name")`` calls."""
    found: set[str] = set()
    for path in (REPO / "hsibench").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str) and not node.args[0].value.startswith("."):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if name in IMPORTING_CALLS:
                    found.add(node.args[0].value.split(".")[0])
    return found


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_runtime_dependency_is_imported():
    provides: dict[str, set[str]] = {}  # distribution -> the top-level modules it installs
    for module, dists in metadata.packages_distributions().items():
        for dist in dists:
            provides.setdefault(_canon(dist), set()).add(module)
    used = imported_modules()
    unused = []
    for dist in runtime_dependencies():
        modules = provides.get(_canon(dist))
        assert modules, f"{dist} is declared but not installed here; install the project first"
        if not modules & used:
            unused.append(f"{dist} (provides {', '.join(sorted(modules))})")
    assert not unused, f"declared in pyproject.toml but never imported by hsibench: {'; '.join(unused)}"


def test_the_check_sees_a_decorative_dependency():
    """scikit-image is a test dependency only: the package must not import it (SSIM is ours)."""
    assert "skimage" not in imported_modules()
    assert "scikit-image" not in runtime_dependencies()
    assert {"numpy", "torch", "platformdirs"} <= set(runtime_dependencies())
