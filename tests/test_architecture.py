"""The layering rule: core never imports JAX or Qt, engine never imports Qt, the window never imports JAX."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    # In a process of its own: import-linter configures logging with dictConfig, which
    # disables every logger that exists already (the CLI's among them) for later tests.
    code = "from importlinter.cli import lint_imports; raise SystemExit(lint_imports(no_cache=True))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_imports_without_jax_or_qt():
    code = (
        "import sys, nnviz.core.graph, nnviz.core.project, nnviz.core.presets, nnviz.core.datasets;"
        "bad = [m for m in ('jax', 'flax', 'optax', 'PySide6', 'pyqtgraph') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_window_imports_no_jax():
    """Every nnviz.qt module imports, and JAX stays out of the window's process until a surface is computed."""
    code = (
        "import pkgutil, importlib, sys, nnviz.qt;"
        "[importlib.import_module(m.name) for m in pkgutil.walk_packages(nnviz.qt.__path__, 'nnviz.qt.')];"
        "bad = [m for m in ('jax', 'flax', 'optax') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
