"""Shared steps of the window tests: a shown window with its panels built, a panel brought to the front."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from nnviz.core.presets import load_preset
from nnviz.qt.document import ProjectDocument


def shown_window(make_window, qtbot, project, size=(1500, 950)):
    """The main window on screen with ``project``, once its panel docks exist (built after the first frame)."""
    w = make_window(ProjectDocument(project))
    w.resize(*size)
    w.show()
    qtbot.waitUntil(lambda: w.visuals.is_built, timeout=5000)
    return w


def endless_xor_window(make_window, qtbot):
    """The window with xor-one-hidden set to train for far longer than any test lets it."""
    return shown_window(make_window, qtbot, load_preset("xor-one-hidden").with_training(epochs=100000))


def front(w, key):
    """Bring a panel's dock to the front of its tab group, as a click on its tab would."""
    w.visuals.docks[key].raise_()
    QApplication.processEvents()
