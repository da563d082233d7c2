"""Ask before losing work: New, Open, Open Recent, Examples and Quit ask before dropping
unsaved edits or a trained run that is not saved (Save / Discard / Cancel), also during a run."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

from nnviz.core.presets import load_preset
from nnviz.qt.window.runs import weights_path_for

from .helpers import shown_window


@pytest.fixture
def answers(monkeypatch):
    """Answer the Save / Discard / Cancel question with the next button; record its text."""
    asked, buttons = [], []

    def warning(parent, title, text, *args):
        asked.append(text)
        return buttons.pop(0)

    monkeypatch.setattr(QMessageBox, "warning", warning)
    return asked, buttons


def trained(make_window, qtbot, tmp_path, epochs=1):
    project = load_preset("xor-one-hidden").with_training(epochs=epochs)
    w = shown_window(make_window, qtbot, project)
    w.action_train.trigger()
    qtbot.waitUntil(lambda: w.bridge.active, timeout=5000)
    qtbot.waitUntil(lambda: not w.bridge.active, timeout=60000)
    return w


def test_every_way_of_leaving_a_trained_unsaved_run_asks(qtbot, make_window, tmp_path, answers):
    asked, buttons = answers
    w = trained(make_window, qtbot, tmp_path)
    step = w.bridge.run_state.step
    assert not w.document.modified and w.bridge.unsaved_run  # nothing edited: the run is the work
    other = tmp_path / "other.json"
    load_preset("circle-underfit").save(other)
    w.add_recent(other)
    doc = w.document
    ways = [
        ("New", w.action_new.trigger),
        ("Open", lambda: w.open_file(other)),
        ("Open Recent", lambda: w.recent_menu.actions()[0].trigger()),
        ("Example", lambda: w.examples_menu.actions()[0].trigger()),
        ("Quit", w.action_quit.trigger),
    ]
    for name, way in ways:
        buttons.append(QMessageBox.StandardButton.Cancel)
        way()
        assert w.document is doc and w.bridge.run_state is not None and w.isVisible(), name
        assert f"a trained run (step {step:,}) that is not saved" in asked[-1], name
    assert len(asked) == len(ways)
    # Discard: the example opens, and the run is gone with the old document
    buttons.append(QMessageBox.StandardButton.Discard)
    assert w.open_preset("circle-underfit")
    assert w.document is not doc and w.bridge.run_state is None and not w.bridge.unsaved_run
    w.action_new.trigger()  # nothing unsaved: no question
    assert len(asked) == len(ways) + 1


def test_save_answers_with_the_weights_and_a_saved_run_does_not_ask(
    qtbot, make_window, tmp_path, answers, monkeypatch
):
    asked, buttons = answers
    w = trained(make_window, qtbot, tmp_path)
    path = tmp_path / "xor.json"
    monkeypatch.setattr(w, "save_as", lambda path_=None: w._save_to(path))
    buttons.append(QMessageBox.StandardButton.Save)
    assert w.new_document()
    assert len(asked) == 1 and path.is_file() and weights_path_for(path).is_file()
    # a saved run, reopened and left as it was: nothing to ask
    assert w.open_file(path)
    qtbot.waitUntil(lambda: not w.bridge.active, timeout=60000)
    assert w.bridge.run_state is not None and not w.bridge.unsaved_run
    assert w.new_document() and len(asked) == 1


def test_a_run_in_progress_asks_too(qtbot, make_window, tmp_path, answers):
    asked, buttons = answers
    project = load_preset("xor-one-hidden").with_training(epochs=100000)
    w = shown_window(make_window, qtbot, project)
    w.action_train.trigger()
    qtbot.waitUntil(
        lambda: w.bridge.last_progress is not None and w.bridge.last_progress.step > 0, timeout=60000
    )
    buttons.append(QMessageBox.StandardButton.Cancel)
    w.examples_menu.actions()[0].trigger()
    assert len(asked) == 1 and "trained run" in asked[0] and w.bridge.active  # still training
    buttons.append(QMessageBox.StandardButton.Discard)
    assert w.open_preset("circle-underfit") and not w.bridge.active and w.bridge.run_state is None


def test_unsaved_edits_and_an_unsaved_run_are_named_together(qtbot, make_window, tmp_path, answers):
    asked, buttons = answers
    w = trained(make_window, qtbot, tmp_path)
    w.settings_panel.learning_rate.setValue(0.01)  # an edit the run survives
    assert w.document.modified and w.bridge.unsaved_run
    buttons.append(QMessageBox.StandardButton.Cancel)
    assert not w.close() and w.isVisible()
    assert "unsaved changes and a trained run" in asked[0]
