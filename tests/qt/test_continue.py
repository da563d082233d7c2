"""Runs continue: Stop keeps the weights and the optimizer state, Train goes on from them,
bit for bit as if it had never stopped; Reset is the only thing that starts over; an edit
the compiled step does not depend on keeps the run, a structural one asks first."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox

from nnviz.core.presets import load_preset
from nnviz.qt.main_window import RESET_MESSAGE

from .helpers import shown_window

STEPS = 60  # xor-one-hidden: 25 steps an epoch


def xor_window(make_window, qtbot, **training):
    project = load_preset("xor-one-hidden").with_training(**training)
    return shown_window(make_window, qtbot, project)


def train_to_end(qtbot, w, trigger=None):
    trigger = trigger or w.action_train.trigger
    trigger()
    qtbot.waitUntil(lambda: w.bridge.active, timeout=5000)
    qtbot.waitUntil(lambda: not w.bridge.active, timeout=60000)


def progress_steps(w):
    seen = []
    w.bridge.progress.connect(lambda p: seen.append(p.step))
    return seen


@pytest.fixture
def no_questions(monkeypatch):
    """Fail on any question a test did not expect (the window would block on it)."""
    asked = []

    def fake(*args, **kwargs):
        asked.append(args[2] if len(args) > 2 else "")
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "question", fake)
    monkeypatch.setattr(QMessageBox, "warning", fake)
    return asked


def params_equal(a, b) -> bool:
    return set(a) == set(b) and all(
        set(a[n]) == set(b[n]) and all(np.array_equal(a[n][k], b[n][k]) for k in a[n]) for n in a
    )


def test_stop_then_train_goes_on_bit_for_bit_as_an_uninterrupted_run(qtbot, make_window, no_questions):
    w = xor_window(make_window, qtbot, max_steps=STEPS)
    w.set_speed(1)  # one step a frame: Stop lands in the middle of the run
    seen = progress_steps(w)
    qtbot.keyClick(w, Qt.Key.Key_F5)
    qtbot.waitUntil(
        lambda: w.bridge.last_progress is not None and w.bridge.last_progress.step >= 5, timeout=60000
    )
    w.action_stop.trigger()
    qtbot.waitUntil(lambda: not w.bridge.active, timeout=10000)
    stopped = w.bridge.run_state
    assert stopped is not None and 0 < stopped.step < STEPS and "Stopped after" in w.status_label.text()
    assert f"from step {stopped.step:,}" in w.action_train.toolTip()
    timeline_before = list(w.visuals.history.steps)
    assert timeline_before and max(timeline_before) <= stopped.step

    w.set_speed(None)
    seen.clear()
    train_to_end(qtbot, w)
    continued = w.bridge.run_state
    assert continued.step == STEPS and "Finished after" in w.status_label.text()
    assert seen and min(seen) > stopped.step  # the step counter went on, it did not start at 0
    steps = list(w.visuals.history.steps)
    assert steps[0] <= timeline_before[0] and steps[-1] == STEPS  # the timeline kept the first part

    # Reset is the one that starts over, and says so.
    assert "new random weights" in w.action_reset.toolTip()
    w.action_reset.trigger()
    assert RESET_MESSAGE in w.statusBar().currentMessage() and w.bridge.run_state is None
    assert len(w.visuals.history) == 0
    seen.clear()
    train_to_end(qtbot, w)
    fresh = w.bridge.run_state
    assert fresh.step == STEPS and min(seen) <= 25  # from step 0 again
    assert params_equal(fresh.params, continued.params)  # never stopped: the very same weights
    assert not no_questions


def test_train_more_epochs_after_a_finished_run(qtbot, make_window, monkeypatch, no_questions):
    w = xor_window(make_window, qtbot, epochs=2)
    train_to_end(qtbot, w)
    done = w.bridge.run_state
    assert done.epoch == 2 and w.action_train_more.isEnabled()
    assert "more epochs" in w.action_train.toolTip()
    asked = []

    def get_int(parent, title, label, value, *args):
        asked.append((title, label, value))
        return 3, True

    monkeypatch.setattr(QInputDialog, "getInt", get_int)
    train_to_end(qtbot, w)  # Train on a run that has trained all its epochs asks how many more
    assert asked and asked[0][0] == "Train more epochs" and "2 epochs" in asked[0][1] and asked[0][2] == 5
    more = w.bridge.run_state
    assert more.epoch == 5 and more.step == done.step // 2 * 5
    assert "Epoch 5/5" in w.status_label.text() or "Finished after" in w.status_label.text()
    asked.clear()
    monkeypatch.setattr(QInputDialog, "getInt", lambda *a: (0, False))  # Cancel: nothing starts
    w.action_train_more.trigger()
    assert not w.bridge.active and w.bridge.run_state is more
    assert w.train_more(1)
    qtbot.waitUntil(lambda: not w.bridge.active, timeout=60000)
    assert w.bridge.run_state.epoch == 6
    assert w.document.project.training.epochs == 2  # the project's settings are not changed by it


def test_a_learning_rate_change_keeps_the_run(qtbot, make_window, no_questions):
    w = xor_window(make_window, qtbot, max_steps=30)
    train_to_end(qtbot, w)
    kept = w.bridge.run_state
    box = w.settings_panel.learning_rate
    box.setValue(0.01)
    assert w.document.project.training.learning_rate == pytest.approx(0.01)
    w.settings_panel.max_steps.setValue(50)
    assert w.document.project.training.max_steps == 50
    assert not no_questions and w.kept_state() is kept
    seen = progress_steps(w)
    train_to_end(qtbot, w)
    assert min(seen) > kept.step and w.bridge.run_state.step == 50


def test_a_structural_edit_asks_and_cancel_keeps_the_run(qtbot, make_window, monkeypatch):
    w = xor_window(make_window, qtbot, max_steps=20)
    dense = w.document.network.nodes_of_type("Dense")[0]
    w.document.set_param(dense.id, "units", 5)  # an edit made before training, for undo below
    train_to_end(qtbot, w)
    kept = w.bridge.run_state
    asked = []
    answer = [QMessageBox.StandardButton.Cancel]

    def question(parent, title, text, *args):
        asked.append(text)
        return answer[0]

    monkeypatch.setattr(QMessageBox, "question", question)
    # the inspector: type a new unit count
    w.editor.select_nodes([dense.id])
    qtbot.waitUntil(lambda: w.inspector.node_ids == [dense.id], timeout=1000)
    spin = w.inspector.editors["units"]
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), "9")
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)
    assert asked == [f"This edit discards the trained weights (step {kept.step:,}). Continue?"]
    assert dense.params["units"] == 5 and spin.value() == 5 and w.kept_state() is kept
    QApplication.processEvents()  # one answer holds for one user action (a paste of many nodes)
    # the settings: another batch size
    batch = w.settings_panel.training_boxes["batch_size"]
    batch.setValue(20)
    assert len(asked) == 2 and w.document.project.training.batch_size == 10 and batch.value() == 10
    QApplication.processEvents()
    # undo of an edit made before the run would discard it too
    w.action_undo.trigger()
    assert len(asked) == 3 and dense.params["units"] == 5 and w.kept_state() is kept
    QApplication.processEvents()
    # the canvas: delete the selected node
    w.editor.select_nodes([dense.id])
    w.action_delete.trigger()
    assert len(asked) == 4 and dense.id in w.document.network.nodes and w.kept_state() is kept
    QApplication.processEvents()
    # moving a node and renaming one change nothing the run depends on: no question
    w.document.rename_node(dense.id, "hidden layer")
    assert len(asked) == 4 and w.kept_state() is kept
    QApplication.processEvents()
    # Ok: the edit is made and the run is gone, as the status bar says
    answer[0] = QMessageBox.StandardButton.Ok
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), "9")
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)
    assert len(asked) == 5 and dense.params["units"] == 9
    assert w.bridge.run_state is None and "new random weights" in w.statusBar().currentMessage()
    assert "new random weights" in w.action_train.toolTip()


def test_a_rename_keeps_the_curves_and_the_timeline(qtbot, make_window, no_questions):
    w = xor_window(make_window, qtbot, max_steps=30)
    train_to_end(qtbot, w)
    steps = list(w.visuals.history.steps)
    dense = w.document.network.nodes_of_type("Dense")[0]
    assert w.document.rename_node(dense.id, "hidden") is None
    assert list(w.visuals.history.steps) == steps and w.visuals.latest is not None
    assert w.kept_state() is w.bridge.run_state and not no_questions


def test_step_goes_on_from_a_kept_run(qtbot, make_window, no_questions):
    w = xor_window(make_window, qtbot, epochs=1)
    train_to_end(qtbot, w)  # all its epochs: Step trains one more mini-batch all the same
    kept = w.bridge.run_state
    qtbot.keyClick(w, Qt.Key.Key_F10)
    qtbot.waitUntil(
        lambda: w.bridge.last_progress is not None and w.bridge.last_progress.step == kept.step + 1,
        timeout=30000,
    )
    assert w.bridge.paused
    w.action_stop.trigger()
    qtbot.waitUntil(lambda: not w.bridge.active, timeout=10000)
    assert w.bridge.run_state.step == kept.step + 1 and not no_questions
