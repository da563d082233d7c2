"""The inspector edits the selected node through the document; undo and redo bring it back."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QSpinBox

from nnviz.qt.inspector import NodeInspector


@pytest.fixture
def inspector(qtbot, doc):
    w = NodeInspector(doc)
    qtbot.addWidget(w)
    w.show()
    return w


def dense(doc):
    return doc.network.nodes_of_type("Dense")[0]


def type_into(qtbot, spin, text):
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), text)
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)


def test_form_is_generated_from_the_param_specs(inspector, doc):
    node = dense(doc)
    inspector.set_selection([node.id])
    units, act, bias = (inspector.editors[k] for k in ("units", "activation", "use_bias"))
    assert isinstance(units, QSpinBox) and (units.minimum(), units.maximum()) == (1, 4096)
    assert isinstance(act, QComboBox) and act.currentData() == "tanh"
    assert isinstance(bias, QCheckBox) and bias.isChecked()
    assert units.value() == 4 and "neurons" in units.toolTip()
    assert inspector.title.text() == "Dense" and "W·x + b" in inspector.formula.text()
    assert "tanh" in inspector.formula.text()  # the chosen activation's own formula
    assert "Output shape" in inspector.facts.text() and ">4<" in inspector.facts.text()
    assert ">12<" in inspector.facts.text()  # 2*4 + 4 parameters
    assert inspector.editors["alpha"].isHidden()  # alpha matters only for leaky ReLU


def test_typing_a_value_edits_the_document_and_undo_redo_restore_it(qtbot, inspector, doc):
    node = dense(doc)
    inspector.set_selection([node.id])
    type_into(qtbot, inspector.editors["units"], "12")
    assert node.params["units"] == 12 and doc.undo_stack.count() == 1
    assert ">36<" in inspector.facts.text()  # the parameter count follows
    doc.undo_stack.undo()
    assert node.params["units"] == 4 and inspector.editors["units"].value() == 4
    doc.undo_stack.redo()
    assert inspector.editors["units"].value() == 12


def test_choices_bools_and_the_name(qtbot, inspector, doc):
    node = dense(doc)
    inspector.set_selection([node.id])
    act = inspector.editors["activation"]
    act.setCurrentIndex(act.findData("leaky_relu"))
    act.activated.emit(act.currentIndex())
    assert node.params["activation"] == "leaky_relu" and not inspector.editors["alpha"].isHidden()
    inspector.editors["use_bias"].setFocus()
    qtbot.keyClick(inspector.editors["use_bias"], Qt.Key.Key_Space)
    assert node.params["use_bias"] is False
    inspector.name_edit.selectAll()
    qtbot.keyClicks(inspector.name_edit, "hidden")
    qtbot.keyClick(inspector.name_edit, Qt.Key.Key_Return)
    assert node.name == "hidden"
    other = doc.network.nodes_of_type("Dense")[1]
    inspector.set_selection([other.id])
    inspector.name_edit.setText("hidden")
    inspector.name_edit.editingFinished.emit()  # a taken name is refused and put back
    assert other.name == "dense_2" and inspector.name_edit.text() == "dense_2"


def test_refused_edits_while_training_show_the_document_value(qtbot, inspector, doc):
    node = dense(doc)
    inspector.set_selection([node.id])
    doc.set_training_lock(True)
    assert not inspector.editors["units"].isEnabled()
    reasons = []
    inspector.edited.connect(reasons.append)
    inspector.editors["units"].setValue(30)
    assert node.params["units"] == 4 and inspector.editors["units"].value() == 4
    assert reasons and "Stop training" in reasons[-1]


def test_network_totals_when_nothing_is_selected(inspector, doc):
    inspector.set_selection([])
    text = inspector.facts.text()
    assert inspector.title.text() == "Network" and ">2<" in text  # input 2, output 2
    assert "Ready to train" in inspector.problems.text()
    doc.remove_nodes([doc.network.nodes_of_type("Output")[0].id])
    assert "problem" in inspector.problems.text() and "no Output" in inspector.problems.text()
    ids = [n.id for n in doc.network.nodes_of_type("Dense")]
    inspector.set_selection(ids)
    assert inspector.title.text() == "2 nodes selected"
