"""Fixtures for the window tests: an isolated QSettings file and autosave folder per test."""

from __future__ import annotations

import sys
import types

import pytest


def _ensure_palette() -> None:
    """The palette is built in parallel; until it lands, a minimal stand-in keeps these tests running."""
    try:
        import nnviz.qt.palette  # noqa: F401
    except ImportError:
        from PySide6.QtCore import Signal
        from PySide6.QtWidgets import QListWidget

        class LayerPalette(QListWidget):
            layer_activated = Signal(str)

        mod = types.ModuleType("nnviz.qt.palette")
        mod.LayerPalette, mod.PALETTE_MIME = LayerPalette, "application/x-nnviz-layer"
        sys.modules["nnviz.qt.palette"] = mod


@pytest.fixture
def settings(tmp_path, qapp):
    from PySide6.QtCore import QSettings

    _ensure_palette()
    s = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    yield s
    s.sync()


@pytest.fixture
def make_window(qtbot, settings, tmp_path):
    """A MainWindow with its own settings and autosave folder; closed (training stopped) after the test."""
    from nnviz.qt.main_window import MainWindow

    made = []

    def make(document=None, **kwargs):
        kwargs.setdefault("settings", settings)
        kwargs.setdefault("autosave_dir", tmp_path / "autosave")
        kwargs.setdefault("download", False)
        kwargs.setdefault("data_dir", str(tmp_path / "no-data"))
        w = MainWindow(document, **kwargs)
        qtbot.addWidget(w)
        made.append(w)
        return w

    yield make
    for w in made:
        w.document.undo_stack.setClean()  # no unsaved-changes prompt while tearing down
        w.close()
        w.bridge.shutdown(2.0)
