"""The training settings panel writes the project's dataset and training settings, undoably."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from nnviz.core.presets import load_preset
from nnviz.qt.document import ProjectDocument
from nnviz.qt.settings_panel import TrainingSettingsPanel


@pytest.fixture
def panel(qtbot, doc):
    w = TrainingSettingsPanel(doc)
    qtbot.addWidget(w)
    w.show()
    return w


def type_into(qtbot, spin, text):
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), text)
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)


def choose(box, data):
    box.setCurrentIndex(box.findData(data))
    box.activated.emit(box.currentIndex())


def test_shows_the_projects_settings(panel, doc):
    ds, tr = doc.project.dataset, doc.project.training
    assert panel.dataset.currentData() == ds.name == "xor"
    assert panel.learning_rate.value() == pytest.approx(tr.learning_rate)
    assert panel.batch_size.value() == tr.batch_size and panel.epochs.value() == tr.epochs
    assert panel.optimizer.currentData() == tr.optimizer and panel.noise.isVisibleTo(panel)


def test_typed_settings_reach_the_document_and_undo(qtbot, panel, doc):
    type_into(qtbot, panel.noise, "0.25")
    type_into(qtbot, panel.batch_size, "16")
    type_into(qtbot, panel.learning_rate, "0.3")
    choose(panel.optimizer, "momentum")
    type_into(qtbot, panel.momentum, "0.5")
    choose(panel.init, "he_normal")
    type_into(qtbot, panel.l2, "0.001")
    type_into(qtbot, panel.seed, "7")
    type_into(qtbot, panel.validation, "0.2")
    ds, tr = doc.project.dataset, doc.project.training
    assert ds.noise == 0.25 and ds.validation_split == 0.2
    assert (tr.batch_size, tr.learning_rate, tr.optimizer, tr.momentum, tr.init, tr.l2, tr.seed) == (
        16,
        0.3,
        "momentum",
        0.5,
        "he_normal",
        0.001,
        7,
    )
    assert panel.momentum.isEnabled()
    while doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    assert doc.project.to_dict() == ProjectDocument(load_preset("xor-one-hidden")).project.to_dict()
    assert panel.batch_size.value() == load_preset("xor-one-hidden").training.batch_size


def test_image_datasets_hide_the_toy_settings_and_change_the_input(panel, doc):
    seen = []
    panel.learning_rate_changed.connect(seen.append)
    choose(panel.dataset, "mnist")
    assert doc.project.dataset.name == "mnist" and doc.context.input_shape == (28, 28, 1)
    assert not panel.noise.isVisibleTo(panel) and not panel.samples.isVisibleTo(panel)
    assert not doc.analysis.ok  # a 2-input Dense net cannot take images
    panel.learning_rate.setValue(0.05)
    assert seen == [0.05]


def test_dataset_is_locked_while_training(panel, doc):
    doc.set_training_lock(True)
    assert not panel.dataset.isEnabled() and not panel.noise.isEnabled()
    assert "Stop training" in panel.noise.toolTip()
    panel.learning_rate.setValue(0.2)  # training settings stay editable (the live learning rate)
    assert doc.project.training.learning_rate == 0.2
    doc.set_training_lock(False)
    assert panel.dataset.isEnabled() and "Stop training" not in panel.noise.toolTip()


def test_import_from_files_reads_the_shape_on_a_worker(qtbot, panel, doc, tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "blobs.npz"
    np.savez(
        path,
        x_train=rng.normal(size=(60, 3)),
        y_train=rng.integers(0, 3, 60),
        x_test=rng.normal(size=(20, 3)),
        y_test=rng.integers(0, 3, 20),
    )
    with qtbot.waitSignal(panel.import_finished, timeout=10000) as blocker:
        panel.import_path(path)
        assert panel.importing and not panel.import_button.isEnabled()
    assert blocker.args == [""]
    assert doc.project.dataset.name == "files" and doc.project.dataset.path == str(path)
    assert doc.context.input_shape == (3,) and doc.context.n_classes == 3
    assert panel.dataset.currentData() == "files" and panel.path_label.isVisibleTo(panel)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with qtbot.waitSignal(panel.import_finished, timeout=10000) as blocker:
        panel.import_path(bad)
    assert "bad.npz" in blocker.args[0] and doc.project.dataset.path == str(path)
