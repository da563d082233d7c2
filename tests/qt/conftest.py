"""Fixtures for the window tests: an isolated QSettings file and autosave folder per test."""

from __future__ import annotations

import gc

import pytest


@pytest.fixture(autouse=True)
def _collect_between_tests():
    """Python's cyclic collector runs between tests, not in the middle of a later paint."""
    yield
    gc.collect()


@pytest.fixture(autouse=True)
def _dialogs_answer_go_on(monkeypatch):
    """A question no test answers would block the run: unsaved work is discarded, a kept run too.

    Tests about the questions patch QMessageBox themselves, over this.
    """
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: QMessageBox.StandardButton.Discard)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Ok)


@pytest.fixture
def doc(qapp):
    """A document holding the xor-one-hidden preset, for panel and document tests."""
    from nnviz.core.presets import load_preset
    from nnviz.qt.document import ProjectDocument

    return ProjectDocument(load_preset("xor-one-hidden"))


@pytest.fixture
def settings(tmp_path, qapp):
    from PySide6.QtCore import QSettings

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
        made.append(w)  # not qtbot.addWidget: it would close a modified window into a modal prompt
        return w

    yield make
    for w in made:
        w.document.undo_stack.setClean()  # no unsaved-changes prompt while tearing down
        w.bridge.shutdown(2.0)
        w.bridge.forget_run()  # nor an unsaved-run one
        w.close()
        w.bridge.shutdown(2.0)
        w.deleteLater()
