"""The trained state saves with the project: Save writes it beside the project, Open shows
the trained network at once and Train goes on from it; a weights file that does not fit or
is damaged is refused with a message and left as it was; File > Import / Export Weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from nnviz.core.presets import load_preset
from nnviz.core.project import WEIGHTS_SUFFIX
from nnviz.qt.window.runs import weights_path_for

from .helpers import shown_window


@pytest.fixture(autouse=True)
def _no_questions(monkeypatch):
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)


def trained_window(make_window, qtbot, epochs=3):
    w = shown_window(make_window, qtbot, load_preset("xor-one-hidden").with_training(epochs=epochs))
    w.action_train.trigger()
    qtbot.waitUntil(lambda: w.bridge.active, timeout=5000)
    qtbot.waitUntil(lambda: not w.bridge.active, timeout=60000)
    assert w.bridge.run_state is not None and w.bridge.unsaved_run
    return w


def opened_window(make_window, qtbot, path):
    w = make_window()
    w.resize(1500, 950)
    w.show()
    qtbot.waitUntil(lambda: w.visuals.is_built, timeout=5000)
    assert w.open_file(path)
    qtbot.waitUntil(lambda: not w.bridge.active, timeout=60000)
    return w


def test_weights_path_is_beside_the_project(tmp_path):
    assert weights_path_for(tmp_path / "mine.json") == tmp_path / f"mine{WEIGHTS_SUFFIX}"
    assert weights_path_for(tmp_path / "mine") == tmp_path / f"mine{WEIGHTS_SUFFIX}"


def test_save_close_reopen_shows_the_trained_network(qtbot, make_window, tmp_path):
    w = trained_window(make_window, qtbot)
    saved = w.bridge.run_state
    accuracy = w.bridge.result.metrics["test_accuracy"]
    path = tmp_path / "xor.json"
    assert w.save_as(path)
    weights = weights_path_for(path)
    assert (
        weights.is_file() and not w.bridge.unsaved_run and "trained weights" in w.statusBar().currentMessage()
    )
    assert w.close()

    w2 = opened_window(make_window, qtbot, path)
    state = w2.bridge.run_state
    assert state is not None and state.step == saved.step and not w2.bridge.unsaved_run
    assert f"test accuracy {100 * accuracy:.1f} %" in w2.status_label.text()
    assert w2.status_label.text().startswith(
        f"Opened the trained run: step {saved.step:,}, epoch {saved.epoch}"
    )
    snap = w2.visuals.latest  # every panel shows the trained network: its weights, at its step
    assert snap is not None and snap.step == saved.step
    for nid, p in saved.params.items():
        assert all(np.array_equal(snap.params[nid][k], p[k]) for k in p)
    curves = w2.visuals.panels["curves"]  # the curves of the saved run, one point per epoch
    qtbot.waitUntil(lambda: curves.series["test_loss"].n == len(saved.history), timeout=5000)
    assert curves.series["train_loss"].n == len(saved.history) == saved.epoch
    assert len(w2.visuals.history) >= 1
    assert not w2.banner.isVisible()
    # Train goes on from it (the run has trained its epochs: how many more is asked)
    assert w2.train_more(1)
    qtbot.waitUntil(lambda: not w2.bridge.active, timeout=60000)
    assert w2.bridge.run_state.epoch == saved.epoch + 1 and w2.bridge.unsaved_run


@pytest.mark.parametrize("damage", ["flip", "garbage", "other-network"])
def test_a_weights_file_that_does_not_fit_is_refused_and_left_alone(qtbot, make_window, tmp_path, damage):
    w = trained_window(make_window, qtbot, epochs=1)
    path = tmp_path / "xor.json"
    assert w.save_as(path)
    weights = weights_path_for(path)
    raw = bytearray(weights.read_bytes())
    if damage == "flip":
        raw[len(raw) // 2] ^= 0x01
    elif damage == "garbage":
        raw = bytearray(b"not a weights file at all")
    weights.write_bytes(bytes(raw))
    if damage == "other-network":  # the project changes beside its old weights
        dense = w.document.network.nodes_of_type("Dense")[0]
        w.bridge.forget_run()
        w.document.set_param(dense.id, "units", 7)
        w.document.save(path)
    before = weights.read_bytes()
    w.close()

    w2 = opened_window(make_window, qtbot, path)
    assert w2.document.path == path and w2.bridge.run_state is None  # the project opened, untrained
    text = w2.banner.text.text()
    assert w2.banner.isVisible() and "untrained" in text and str(weights) in text
    assert weights.read_bytes() == before
    assert "new random weights" in w2.action_train.toolTip()


def test_export_then_import_weights(qtbot, make_window, tmp_path):
    w = trained_window(make_window, qtbot, epochs=1)
    state = w.bridge.run_state
    out = tmp_path / "exported.weights.msgpack"
    assert w.export_weights(out) and out.is_file()
    w.bridge.run_saved = True  # exported: nothing asks below
    w.document.save(tmp_path / "xor.json")
    w.close()

    w2 = opened_window(make_window, qtbot, tmp_path / "xor.json")  # no weights beside it
    assert w2.bridge.run_state is None and not w2.action_export_weights.isEnabled()
    assert w2.import_weights(out)
    qtbot.waitUntil(lambda: not w2.bridge.active, timeout=60000)
    assert w2.bridge.run_state.step == state.step and w2.visuals.latest.step == state.step
    assert w2.bridge.unsaved_run  # imported, not yet saved with the project

    # weights of another network are refused, named with the reason, and nothing changes
    other = shown_window(make_window, qtbot, load_preset("circle-underfit"))
    before = out.read_bytes()
    assert not other.import_weights(out)
    assert "not imported" in other.banner.text.text() and str(out) in other.banner.text.text()
    assert other.bridge.run_state is None and out.read_bytes() == before
    assert not math.isnan(state.step)
