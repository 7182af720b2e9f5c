"""The package's structure: the pure modules run without Dash, the docstrings name what exists, and the code
meets ruff.toml.

The pure modules (data, statistics, figures, views, ...) are what the command
line, the reports and the tests use; only the web app (layout, callbacks,
server) may import Dash or Flask.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

#: modules that must import neither Dash nor Flask (a package: every module in it)
PURE = [
    "dashboard.data",
    "dashboard.cohorts",
    "dashboard.stats",
    "dashboard.mixed",
    "dashboard.between",
    "dashboard.survival",
    "dashboard.reproduce",
    "dashboard.safety",
    "dashboard.diff",
    "dashboard.figures",
    "dashboard.views",
    "dashboard.formatting",
    "dashboard.importers",
    "dashboard.state",
]
WEB = ("dash", "flask")

# Run in a fresh interpreter: import the module (and, for a package, all its modules) and
# print the web modules that came with it.
_IMPORT = """
import importlib, pkgutil, sys
name = sys.argv[1]
module = importlib.import_module(name)
for info in pkgutil.walk_packages(getattr(module, "__path__", []), name + "."):
    importlib.import_module(info.name)
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in {web})))
""".replace("{web}", repr(set(WEB)))


def _spec(name: str):
    """The module's spec, or None while the module does not exist yet."""
    try:
        return importlib.util.find_spec(name)
    except ModuleNotFoundError:
        return None


def _source_files(name: str) -> list[Path]:
    """The module's file, or every .py file of a package."""
    spec = _spec(name)
    if spec is None:
        pytest.skip(f"{name} does not exist (yet)")
    if spec.submodule_search_locations:
        return sorted(p for d in spec.submodule_search_locations for p in Path(d).rglob("*.py"))
    return [Path(spec.origin)]


def _web_imports(path: Path) -> list[str]:
    """``line: statement`` of every import of Dash or Flask in the file, at any level (in functions too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(n.split(".")[0] in WEB for n in names):
            where = path.relative_to(REPO) if path.is_relative_to(REPO) else path
            found.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("name", PURE)
def test_pure_module_imports_no_web_framework(name):
    """Imported alone in a fresh interpreter, the module brings in neither Dash nor Flask."""
    if _spec(name) is None:
        pytest.skip(f"{name} does not exist (yet)")
    r = subprocess.run([sys.executable, "-c", _IMPORT, name], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [], f"importing {name} imported {r.stdout.strip()}"


@pytest.mark.parametrize("name", PURE)
def test_pure_module_source_has_no_web_import(name):
    """No ``import dash`` / ``from dash ...`` (or flask) anywhere in the module's source, not even in a function."""
    found = [hit for path in _source_files(name) for hit in _web_imports(path)]
    assert found == [], "\n".join(found)


def test_the_import_checks_see_a_web_import(tmp_path):
    """The static check finds imports at any level (a check that finds nothing proves nothing)."""
    path = tmp_path / "probe.py"
    path.write_text(
        "import os\n"
        "def f():\n    import dash.html as h\n"
        "class C:\n    from flask import request\n"
        "from plotly import graph_objects\n",
        encoding="utf-8",
    )
    assert [hit.split(": ", 1)[0] for hit in _web_imports(path)] == [f"{path}:3", f"{path}:5"]


def test_command_line_docstring_names_every_command():
    from dashboard import __main__ as cli

    sub = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    named = re.findall(r"``([a-z-]+)``", cli.__doc__.split("Commands:", 1)[1])
    assert sorted(named) == sorted(sub.choices)


def test_package_docstring_names_functions_that_exist():
    import dashboard

    refs = re.findall(r":func:`([\w.]+)`", dashboard.__doc__)
    assert refs
    for ref in refs:
        module, name = ref.rsplit(".", 1)
        assert hasattr(importlib.import_module(module), name), ref


def test_ruff_check_passes():
    """``ruff check .`` (rules in ruff.toml) finds nothing."""
    r = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=REPO, capture_output=True, text=True,
                       timeout=300)
    print(r.stdout, r.stderr)
    assert r.returncode == 0, r.stdout + r.stderr
