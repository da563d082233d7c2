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


# ---------------------------------------------------------------- values the project format allows


def wide_document():
    """Settings at the edges of what a project file may hold, beyond what QSpinBox/QDoubleSpinBox keep."""
    project = load_preset("xor-one-hidden").with_training(
        optimizer="momentum", seed=3_000_000_000, learning_rate=1e-6, momentum=0.995, l2=1e-7
    )
    return ProjectDocument(project)


def only_change(doc, before):
    """The training settings that differ from ``before`` (a dict), with their new values."""
    after = doc.project.training.to_dict()
    return {k: v for k, v in after.items() if before[k] != v}


def test_editing_one_setting_leaves_the_others_exactly_as_they_were(qtbot):
    doc = wide_document()
    panel = TrainingSettingsPanel(doc)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.seed.text() == "3000000000" and panel.learning_rate.text() == "0.000001"
    assert panel.momentum.text() == "0.995" and panel.l2.text() == "0.0000001"
    before = doc.project.training.to_dict()
    type_into(qtbot, panel.epochs, "7")
    assert only_change(doc, before) == {"epochs": 7}
    type_into(qtbot, panel.batch_size, "16")
    choose(panel.init, "he_normal")
    assert only_change(doc, before) == {"epochs": 7, "batch_size": 16, "init": "he_normal"}
    # each edit is one undo step that swaps back exactly the setting it changed
    doc.undo_stack.undo()
    assert only_change(doc, before) == {"epochs": 7, "batch_size": 16}
    # and typing the edge values in keeps them too
    type_into(qtbot, panel.seed, "4294967295")
    type_into(qtbot, panel.learning_rate, "0.0000005")
    type_into(qtbot, panel.momentum, "0.999")
    tr = doc.project.training
    assert (tr.seed, tr.learning_rate, tr.momentum) == (2**32 - 1, 5e-7, 0.999)
    assert type(tr.seed) is int and type(tr.learning_rate) is float
    type_into(qtbot, panel.max_steps, "12000000000")  # more than a C int: no limit but the format's
    assert doc.project.training.max_steps == 12_000_000_000
    assert doc.project.training.validate() == []


def test_out_of_range_values_are_refused_with_the_reason(qtbot):
    doc = wide_document()
    panel = TrainingSettingsPanel(doc)
    qtbot.addWidget(panel)
    panel.show()
    said = []
    panel.edited.connect(said.append)
    before = doc.project.training.to_dict()
    for box, text, words in (
        (panel.seed, "4294967296", "Seed must be a whole number from 0 to 4294967295 (got 4294967296)."),
        (panel.learning_rate, "200", "Learning rate must be above 0 and at most 100 (got 200.0)."),
        (panel.learning_rate, "0", "Learning rate must be above 0 and at most 100 (got 0.0)."),
        (panel.momentum, "1", "Momentum must be at least 0 and below 1 (got 1.0)."),
        (panel.batch_size, "0", "Batch size must be a whole number from 1 to 65536 (got 0)."),
        (panel.epochs, "100001", "Epochs must be a whole number from 1 to 100000 (got 100001)."),
        (panel.l1, "11", "L1 regularisation must be at least 0 and at most 10 (got 11.0)."),
    ):
        shown = box.text()
        type_into(qtbot, box, text)
        assert said[-1] == words
        assert box.text() == shown  # the box shows the project's value again
    assert only_change(doc, before) == {} and not doc.undo_stack.canUndo()
    type_into(qtbot, panel.seed, "-3")
    assert said[-1] == "Seed must be a whole number from 0 to 4294967295 (got -3)."
    # what is no number cannot be typed at all: the keys are refused, the text stays
    shown = panel.epochs.text()
    type_into(qtbot, panel.epochs, "abc")
    assert panel.epochs.text() == shown
    type_into(qtbot, panel.learning_rate, "1e400")  # past the largest float
    assert said[-1] == "Learning rate must be above 0 and at most 100 (got '1e400')."
    assert only_change(doc, before) == {}


def test_the_boxes_take_their_ranges_from_the_settings_table(qtbot, panel, doc):
    from nnviz.core.project import TRAINING_SETTINGS, TrainingConfig

    assert list(TRAINING_SETTINGS) == list(TrainingConfig().to_dict())  # every field, in order
    for name, setting in TRAINING_SETTINGS.items():
        box = panel.training_boxes[name]
        if setting.kind is str:
            assert [box.itemData(i) for i in range(box.count())] == list(setting.choices)
            continue
        assert (box.minimum(), box.maximum()) == (setting.minimum, setting.maximum), name
        assert setting.help in box.toolTip() and setting.rule() in box.toolTip()
    # the arrows stop at the table's bounds, the seed's far past a C int
    panel.seed.setValue(2**32 - 2)
    panel.seed.stepBy(1)
    panel.seed.stepBy(1)
    assert doc.project.training.seed == 2**32 - 1 and panel.seed.text() == "4294967295"
    panel.momentum.setValue(0.97)
    panel.momentum.stepBy(1)  # 1.02 would be past the bound, and 1 itself is not allowed
    assert doc.project.training.momentum == 0.97
    panel.momentum.stepBy(-1)
    assert doc.project.training.momentum == 0.92  # decimal steps: no 0.9199999999999999
    panel.learning_rate.setValue(0.001)
    panel.learning_rate.stepBy(-1)  # a tenth of its decade
    assert doc.project.training.learning_rate == 0.0009
    panel.max_steps.setValue(0)
    assert panel.max_steps.text() == "no limit"
    panel.max_steps.stepBy(1)
    assert doc.project.training.max_steps == 100
