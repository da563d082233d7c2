"""The document and its undo commands: do, undo, redo, then read the core model."""

from nnviz.core.datasets import DatasetSpec
from nnviz.qt.document import LOCKED, ProjectDocument


def state(doc):
    return doc.project.to_dict()


def test_every_edit_undoes_and_redoes(doc):
    steps = []
    before = state(doc)
    node = doc.add_node("Dense", (50, 60), {"units": 3})
    steps.append(state(doc))
    inp = doc.network.nodes_of_type("Input")[0].id
    assert doc.connect(inp, node.id) is None
    steps.append(state(doc))
    assert doc.set_param(node.id, "units", 7) is None
    steps.append(state(doc))
    doc.move_nodes({node.id: ((50.0, 60.0), (90.0, 10.0))})
    steps.append(state(doc))
    doc.apply_layout()
    steps.append(state(doc))
    first_dense = doc.network.nodes_of_type("Dense")[0].id
    assert doc.disconnect(inp, first_dense) is None
    steps.append(state(doc))
    doc.remove_nodes([node.id])
    steps.append(state(doc))
    doc.set_dataset(DatasetSpec("circle", noise=0.2))
    steps.append(state(doc))
    assert doc.modified
    history = [before, *steps]
    for expected in reversed(history[:-1]):
        doc.undo_stack.undo()
        assert state(doc) == expected
    assert not doc.modified
    for expected in history[1:]:
        doc.undo_stack.redo()
        assert state(doc) == expected


def test_refused_edits_say_why_and_change_nothing(doc, qtbot):
    before = state(doc)
    out = doc.network.nodes_of_type("Output")[0].id
    inp = doc.network.nodes_of_type("Input")[0].id
    with qtbot.waitSignal(doc.refused) as blocker:
        reason = doc.connect(out, inp)
    assert "nothing can come after the loss" in reason and blocker.args == [reason]
    assert "units must be at least 1" in doc.set_param(doc.network.nodes_of_type("Dense")[0].id, "units", 0)
    assert state(doc) == before and doc.undo_stack.count() == 0


def test_structural_edits_refused_while_training(doc):
    doc.set_training_lock(True)
    assert doc.add_node("Dense", (0, 0)) is None
    assert doc.remove_nodes(list(doc.network.nodes)) == LOCKED
    d = doc.network.nodes_of_type("Dense")[0].id
    assert doc.set_param(d, "units", 9) == LOCKED
    doc.move_nodes({d: (doc.network.nodes[d].position, (1.0, 2.0))})  # moving stays allowed
    assert doc.network.nodes[d].position == (1.0, 2.0)


def test_param_edits_merge_and_analysis_follows(doc, qtbot):
    d = doc.network.nodes_of_type("Dense")[-1].id
    with qtbot.waitSignal(doc.analysis_changed):
        doc.set_param(d, "units", 3)
    out = doc.network.nodes_of_type("Output")[0].id
    assert not doc.analysis.ok and "Output expects 2 values" in doc.analysis.problems_of(out)[0]
    doc.set_param(d, "units", 4)
    doc.set_param(d, "units", 2)
    assert doc.undo_stack.count() == 1  # one spin-box edit, one undo step
    assert doc.analysis.ok


def test_save_marks_clean_and_reopens_identical(doc, tmp_path):
    doc.add_node("Dropout", (10, 10))
    path = doc.save(tmp_path / "p.json")
    assert not doc.modified and doc.title == "p.json"
    again = ProjectDocument.open(path)
    assert again.project.to_dict() == doc.project.to_dict()
    copy = doc.snapshot_project()
    doc.add_node("Dense", (0, 0))
    assert len(copy.network.nodes) == len(doc.network.nodes) - 1
