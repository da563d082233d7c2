"""The diagram editor drives the document with real mouse and key events; undo brings every edit back."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QMouseEvent,
    QPalette,
    QWheelEvent,
)
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QHBoxLayout, QWidget

from nnviz.core.graph import Network
from nnviz.core.presets import load_preset
from nnviz.core.project import Project
from nnviz.qt.document import LOCKED, ProjectDocument
from nnviz.qt.editor import PALETTE_MIME, NetworkEditor
from nnviz.qt.palette import LayerPalette

SHOTS = Path("/tmp/editor_shots")
L, M = Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton
NO_MOD = Qt.KeyboardModifier.NoModifier


def chain_doc(*types: str, spacing: float = 220.0) -> ProjectDocument:
    return ProjectDocument(Project(Network.chain(*types, spacing=spacing)))


@pytest.fixture
def make_editor(qtbot):
    def make(doc: ProjectDocument) -> NetworkEditor:
        editor = NetworkEditor(doc)
        qtbot.addWidget(editor)
        editor.resize(1000, 500)
        editor.show()
        qtbot.waitExposed(editor)
        editor.view.resetTransform()
        editor.view.centerOn(300, 0)
        return editor

    return make


def ids(doc, type_name):
    return [n.id for n in doc.network.nodes_of_type(type_name)]


def vp(editor, scene_pos: QPointF) -> QPoint:
    return editor.view.mapFromScene(scene_pos)


def drag(editor, start: QPoint, end: QPoint, button=L, steps: int = 6) -> None:
    """Press, move in steps with the button held, release: what a hand does."""
    viewport = editor.view.viewport()
    QTest.mousePress(viewport, button, NO_MOD, start)
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        # QTest.mouseMove carries no button state, so send the move a held button makes.
        event = QMouseEvent(
            QEvent.Type.MouseMove,
            QPointF(p),
            QPointF(viewport.mapToGlobal(p)),
            Qt.MouseButton.NoButton,
            button,
            NO_MOD,
        )
        QApplication.sendEvent(viewport, event)
    QTest.mouseRelease(viewport, button, NO_MOD, end)


def port_pos(editor, node_id, kind) -> QPoint:
    item = editor.scene.node_items[node_id]
    return vp(editor, item.port(kind).scenePos())


def header_pos(editor, node_id) -> QPoint:
    item = editor.scene.node_items[node_id]
    rect = item.card_rect()
    return vp(editor, item.mapToScene(QPointF(rect.center().x(), rect.top() + 10)))


def state(doc):
    """The project as data, nodes by id: undoing a delete re-adds nodes at the end of the dict."""
    data = doc.project.to_dict()
    data["network"]["nodes"].sort(key=lambda n: n["id"])
    return data


# ---------------------------------------------------------------- palette drops


def drop(editor, mime, at: QPoint) -> QDropEvent:
    viewport = editor.view.viewport()
    actions = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(at, actions, mime, Qt.MouseButton.NoButton, NO_MOD)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    move = QDragMoveEvent(at, actions, mime, Qt.MouseButton.NoButton, NO_MOD)
    QApplication.sendEvent(viewport, move)
    assert move.isAccepted()
    event = QDropEvent(QPointF(at), actions, mime, Qt.MouseButton.NoButton, NO_MOD)
    QApplication.sendEvent(viewport, event)
    return event


def test_dropping_a_palette_entry_adds_that_layer_where_it_lands(make_editor, qtbot):
    doc = ProjectDocument()
    editor = make_editor(doc)
    palette = LayerPalette()
    qtbot.addWidget(palette)
    mime = palette.tree.mimeData([palette.items()["Conv2D"]])
    assert bytes(mime.data(PALETTE_MIME)).decode("utf-8") == "Conv2D"
    at = QPoint(420, 260)
    with qtbot.waitSignal(editor.selection_changed):
        event = drop(editor, mime, at)
    assert event.isAccepted()
    (node,) = doc.network.nodes.values()
    assert node.type == "Conv2D"
    expected = editor.view.mapToScene(at)
    assert abs(node.position[0] - expected.x()) < 1 and abs(node.position[1] - expected.y()) < 1
    item = editor.scene.node_items[node.id]
    assert item.pos() == QPointF(*node.position)
    assert editor.selected_node_ids() == [node.id]
    doc.undo_stack.undo()
    assert not doc.network.nodes and not editor.scene.node_items
    doc.undo_stack.redo()
    assert list(editor.scene.node_items) == [node.id]


def test_other_drops_are_ignored(make_editor):
    from PySide6.QtCore import QMimeData

    doc = ProjectDocument()
    editor = make_editor(doc)
    mime = QMimeData()
    mime.setText("Dense")
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, NO_MOD)
    QApplication.sendEvent(editor.view.viewport(), enter)
    assert not enter.isAccepted() and not doc.network.nodes


# ---------------------------------------------------------------- edges


def test_dragging_from_an_output_port_to_an_input_port_connects(make_editor):
    doc = ProjectDocument()
    inp = doc.add_node("Input", (0, 0)).id
    dense = doc.add_node("Dense", (260, 60)).id
    out = doc.add_node("Output", (520, 0)).id
    editor = make_editor(doc)
    before = state(doc)
    drag(editor, port_pos(editor, inp, "out"), port_pos(editor, dense, "in"))
    assert doc.network.has_edge(inp, dense)
    assert (inp, dense) in editor.scene.edge_items
    # The other way round works too: from an input back to an output.
    drag(editor, port_pos(editor, out, "in"), port_pos(editor, dense, "out"))
    assert doc.network.has_edge(dense, out)
    assert not editor.scene.items() or all(i.zValue() != 10 for i in editor.scene.items())  # rubber line gone
    after = state(doc)
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert state(doc) == before and not editor.scene.edge_items
    doc.undo_stack.redo()
    doc.undo_stack.redo()
    assert state(doc) == after and set(editor.scene.edge_items) == {(inp, dense), (dense, out)}


def test_a_refused_edge_is_not_created_and_the_reason_is_shown(make_editor, qtbot):
    doc = chain_doc("Input", "Add", "Dense", "Output")
    editor = make_editor(doc)
    inp, add, first = ids(doc, "Input")[0], ids(doc, "Add")[0], ids(doc, "Dense")[0]
    before, count = state(doc), doc.undo_stack.count()

    with qtbot.waitSignal(editor.message) as cycle:
        drag(editor, port_pos(editor, first, "out"), port_pos(editor, add, "in"))
    assert "would make a cycle" in cycle.args[0]
    assert editor.view.toast.isVisible() and editor.view.toast.text() == cycle.args[0]

    # Into an Input, which has no input port: released on its card, the core says why.
    with qtbot.waitSignal(editor.message) as into_input:
        drag(editor, port_pos(editor, first, "out"), vp(editor, editor.scene.node_items[inp].pos()))
    assert "is an Input" in into_input.args[0]
    assert state(doc) == before and doc.undo_stack.count() == count


def test_releasing_on_empty_canvas_does_nothing(make_editor):
    doc = chain_doc("Input", "Dense")
    editor = make_editor(doc)
    dense = ids(doc, "Dense")[0]
    count = doc.undo_stack.count()
    start = port_pos(editor, dense, "out")
    drag(editor, start, start + QPoint(150, 140))
    assert doc.undo_stack.count() == count
    assert len(editor.scene.edge_items) == 1


# ---------------------------------------------------------------- move, select, delete


def test_moving_nodes_by_mouse_is_one_undo_step(make_editor):
    doc = chain_doc("Input", "Dense", "Output")
    editor = make_editor(doc)
    inp, dense = ids(doc, "Input")[0], ids(doc, "Dense")[0]
    old = {i: doc.network.nodes[i].position for i in (inp, dense)}
    editor.select_nodes([inp, dense])
    count = doc.undo_stack.count()
    start = header_pos(editor, dense)
    assert set(editor.selected_node_ids()) == {inp, dense}
    drag(editor, start, start + QPoint(60, 40))
    assert doc.undo_stack.count() == count + 1
    for nid in (inp, dense):
        x, y = doc.network.nodes[nid].position
        assert (x - old[nid][0], y - old[nid][1]) == pytest.approx((60, 40), abs=1)
        assert editor.scene.node_items[nid].pos() == QPointF(x, y)
    edge = editor.scene.edge_items[(inp, dense)]
    assert edge.path().pointAtPercent(0).x() > old[inp][0] + 60  # edges follow their nodes
    doc.undo_stack.undo()
    for nid in (inp, dense):
        assert doc.network.nodes[nid].position == old[nid]
        assert editor.scene.node_items[nid].pos() == QPointF(*old[nid])


def test_rubber_band_selects_several_nodes(make_editor, qtbot):
    doc = chain_doc("Input", "Dense", "Output")
    editor = make_editor(doc)
    corner = vp(editor, QPointF(-120, -80))
    with qtbot.waitSignal(editor.selection_changed):
        drag(editor, corner, vp(editor, QPointF(290, 80)))
    assert set(editor.selected_node_ids()) == set(ids(doc, "Input") + ids(doc, "Dense"))
    editor.select_all()
    assert len(editor.selected_node_ids()) == 3


def test_delete_removes_selected_nodes_and_edges_in_one_undo_step(make_editor):
    doc = chain_doc("Input", "Dense", "Dense", "Output")
    editor = make_editor(doc)
    inp = ids(doc, "Input")[0]
    first, second = ids(doc, "Dense")
    out = ids(doc, "Output")[0]
    before, count = state(doc), doc.undo_stack.count()
    editor.select_nodes([first])
    edge = editor.scene.edge_items[(second, out)]
    edge.setSelected(True)
    editor.view.setFocus()
    QTest.keyClick(editor.view, Qt.Key.Key_Delete)
    assert first not in doc.network.nodes and not doc.network.has_edge(second, out)
    assert doc.network.edges == [] and set(editor.scene.node_items) == {inp, second, out}
    assert doc.undo_stack.count() == count + 1
    after = state(doc)
    doc.undo_stack.undo()
    assert state(doc) == before and len(editor.scene.edge_items) == 3
    doc.undo_stack.redo()
    assert state(doc) == after
    # Backspace works too, and clicking an edge selects it.
    doc.undo_stack.undo()
    edge = editor.scene.edge_items[(inp, first)]
    editor.scene.clearSelection()
    mid = edge.path().pointAtPercent(0.5)
    QTest.mouseClick(editor.view.viewport(), L, NO_MOD, vp(editor, mid))
    assert edge.isSelected()
    QTest.keyClick(editor.view, Qt.Key.Key_Backspace)
    assert not doc.network.has_edge(inp, first) and len(doc.network.nodes) == 4


def test_copy_paste_makes_new_nodes_with_their_edges(make_editor):
    doc = chain_doc("Input", "Dense", "Dense", "Output")
    editor = make_editor(doc)
    first, second = ids(doc, "Dense")
    doc.set_param(second, "units", 5)
    before, count = state(doc), doc.undo_stack.count()
    editor.select_nodes([first, second])
    editor.copy()
    editor.paste()
    assert doc.undo_stack.count() == count + 1
    new = editor.selected_node_ids()
    assert len(new) == 2 and not set(new) & {first, second}
    by_old = {}
    for nid in new:
        node = doc.network.nodes[nid]
        twin = min(
            (first, second), key=lambda o: abs(doc.network.nodes[o].position[0] - node.position[0] + 40)
        )
        by_old[twin] = node
        ox, oy = doc.network.nodes[twin].position
        assert node.position == (ox + 40, oy + 40)
        assert node.params == doc.network.nodes[twin].params and node.type == "Dense"
    assert doc.network.has_edge(by_old[first].id, by_old[second].id)
    assert len(doc.network.edges) == 4  # 3 of the chain + the copied one, nothing to outside nodes
    editor.paste()  # again: further offset
    assert len(doc.network.nodes) == 8
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert state(doc) == before
    doc.undo_stack.redo()
    assert len(doc.network.nodes) == 6 and len(editor.scene.node_items) == 6


def test_cut_is_copy_then_delete(make_editor):
    doc = chain_doc("Input", "Dense", "Output")
    editor = make_editor(doc)
    dense = ids(doc, "Dense")[0]
    before = state(doc)
    editor.select_nodes([dense])
    editor.view.setFocus()
    QTest.keyClick(editor.view, Qt.Key.Key_X, Qt.KeyboardModifier.ControlModifier)
    assert dense not in doc.network.nodes and not doc.network.edges
    QTest.keyClick(editor.view, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert len(ids(doc, "Dense")) == 1 and ids(doc, "Dense")[0] != dense
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert state(doc) == before


def test_structural_edits_while_training_are_refused_with_a_message(make_editor, qtbot):
    doc = chain_doc("Input", "Dense", "Output")
    editor = make_editor(doc)
    palette = LayerPalette()
    qtbot.addWidget(palette)
    doc.set_training_lock(True)
    before = state(doc)
    with qtbot.waitSignal(editor.message) as dropped:
        drop(editor, palette.tree.mimeData([palette.items()["Dense"]]), QPoint(300, 300))
    assert dropped.args == [LOCKED]
    editor.select_nodes(ids(doc, "Dense"))
    with qtbot.waitSignal(editor.message) as deleted:
        editor.delete_selected()
    assert deleted.args == [LOCKED]
    with qtbot.waitSignal(editor.message) as connected:
        drag(
            editor,
            port_pos(editor, ids(doc, "Input")[0], "out"),
            port_pos(editor, ids(doc, "Output")[0], "in"),
        )
    assert connected.args == [LOCKED]
    assert state(doc) == before


# ---------------------------------------------------------------- zoom, pan, fit


def test_zoom_pan_and_fit_change_the_view(make_editor):
    doc = ProjectDocument(load_preset("mnist-cnn"))
    editor = make_editor(doc)
    view = editor.view
    assert view.transform().m11() == 1
    editor.zoom_in()
    assert view.transform().m11() > 1
    editor.zoom_out()
    editor.zoom_out()
    assert view.transform().m11() < 1
    # The wheel zooms around the cursor: the scene point under it stays put.
    at = QPoint(300, 200)
    under = view.mapToScene(at)
    wheel = QWheelEvent(
        QPointF(at),
        QPointF(view.viewport().mapToGlobal(at)),
        QPoint(),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.ControlModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    scale = view.transform().m11()
    QApplication.sendEvent(view.viewport(), wheel)
    assert view.transform().m11() > scale
    after = view.mapToScene(at)
    assert abs(after.x() - under.x()) < 2 and abs(after.y() - under.y()) < 2
    # Middle-button drag pans.
    centre = view.mapToScene(view.viewport().rect().center())
    drag(editor, QPoint(500, 250), QPoint(400, 200), button=M)
    moved = view.mapToScene(view.viewport().rect().center())
    assert moved.x() > centre.x() + 20 and moved.y() > centre.y() + 10
    assert doc.undo_stack.count() == 0
    # Space + left drag pans too, and selects nothing.
    QTest.keyPress(view, Qt.Key.Key_Space)
    drag(editor, QPoint(500, 250), QPoint(560, 250))
    QTest.keyRelease(view, Qt.Key.Key_Space)
    assert view.mapToScene(view.viewport().rect().center()).x() < moved.x() - 20
    assert not editor.selected_node_ids()
    # Fit shows every node.
    editor.fit_to_view()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    for item in editor.scene.node_items.values():
        assert visible.contains(item.sceneBoundingRect())
    assert view.transform().m11() <= 1.0


def test_arrange_lays_out_left_to_right_as_one_undo_step(make_editor):
    doc = ProjectDocument(load_preset("residual-circle"))
    editor = make_editor(doc)
    before, count = state(doc), doc.undo_stack.count()
    editor.arrange()
    assert doc.undo_stack.count() == count + 1
    for e in doc.network.edges:
        src, dst = editor.scene.node_items[e.source], editor.scene.node_items[e.target]
        assert src.pos().x() < dst.pos().x()
    doc.undo_stack.undo()
    assert state(doc) == before


# ---------------------------------------------------------------- what the cards show


def test_cards_show_params_shapes_and_counts(make_editor):
    from nnviz.qt.editor.style import key_params, params_text

    doc = ProjectDocument(load_preset("mnist-cnn"))
    editor = make_editor(doc)
    conv = doc.network.nodes[ids(doc, "Conv2D")[0]]
    assert key_params(conv) == "16 3×3 s1 same · ReLU"
    assert params_text(conv.layer, doc.analysis.param_counts[conv.id]) == "160 params"
    dense = doc.network.nodes[ids(doc, "Dense")[0]]
    assert params_text(dense.layer, doc.analysis.param_counts[dense.id]) == "15,690 params"
    assert params_text(doc.network.nodes[ids(doc, "Flatten")[0]].layer, 0) == ""
    assert all(not item.badge.isVisible() for item in editor.scene.node_items.values())
    # Cards have exactly the ports their type allows.
    items = editor.scene.node_items
    assert items[ids(doc, "Input")[0]].input_port is None and items[ids(doc, "Output")[0]].output_port is None
    assert items[conv.id].input_port is not None and items[conv.id].output_port is not None


def test_invalid_nodes_carry_a_badge_with_the_core_message(make_editor):
    doc = ProjectDocument(Project(Network.chain("Input", ("Dense", {"units": 2}), "Output", spacing=220)))
    editor = make_editor(doc)
    assert doc.analysis.ok
    assert all(not item.badge.isVisible() for item in editor.scene.node_items.values())
    dense = ids(doc, "Dense")[0]
    assert editor.scene.node_items[dense].toolTip() == doc.network.nodes[dense].layer.tooltip()

    extra = doc.add_node("Dense", (220, 160)).id
    item = editor.scene.node_items[extra]
    assert item.badge.isVisible()
    assert (
        item.toolTip()
        == "\n".join(doc.analysis.problems_of(extra))
        == ("has no input; connect a layer into it\nits output goes nowhere; connect it onward or delete it")
    )
    assert item.badge.toolTip() == item.toolTip()
    assert not editor.scene.node_items[dense].badge.isVisible()

    # A parameter change that breaks the Output updates its badge through analysis_changed.
    doc.remove_nodes([extra])
    out = editor.scene.node_items[ids(doc, "Output")[0]]
    doc.set_param(dense, "units", 3)
    (message,) = doc.analysis.problems_of(out.node_id)
    assert "Output expects 2 values" in message
    assert out.badge.isVisible() and out.toolTip() == message
    doc.undo_stack.undo()
    assert not out.badge.isVisible()


# ---------------------------------------------------------------- documents


def test_set_document_swaps_cleanly(make_editor, qtbot):
    old = chain_doc("Input", "Dense", "Output")
    editor = make_editor(old)
    new = ProjectDocument(load_preset("residual-circle"))
    with qtbot.waitSignal(editor.selection_changed):
        editor.set_document(new)
    assert set(editor.scene.node_items) == set(new.network.nodes)
    assert set(editor.scene.edge_items) == {(e.source, e.target) for e in new.network.edges}
    # The old document no longer reaches the canvas; the new one does.
    old.add_node("Dense", (0, 300))
    old.set_training_lock(True)
    with qtbot.assertNotEmitted(editor.message):
        old.connect(ids(old, "Input")[0], ids(old, "Output")[0])
    assert set(editor.scene.node_items) == set(new.network.nodes)
    node = new.add_node("Dropout", (100, 200))
    assert node.id in editor.scene.node_items
    editor.select_nodes([node.id])
    assert editor.selected_node_ids() == [node.id]


def test_editor_deleted_before_document_is_harmless(qtbot):
    doc = chain_doc("Input", "Dense", "Output")
    editor = NetworkEditor(doc)
    editor.deleteLater()
    QTest.qWait(0)
    from PySide6.QtCore import QCoreApplication

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    doc.add_node("Dense", (0, 200))  # the dead scene's listener must not crash
    assert len(doc.network.nodes) == 4


# ---------------------------------------------------------------- pictures


def _dark(palette: QPalette) -> QPalette:
    for role, color in (
        (QPalette.ColorRole.Window, "#2b2d30"),
        (QPalette.ColorRole.Base, "#1e1f22"),
        (QPalette.ColorRole.Text, "#dfe1e5"),
        (QPalette.ColorRole.WindowText, "#dfe1e5"),
        (QPalette.ColorRole.Highlight, "#3574f0"),
        (QPalette.ColorRole.Button, "#2b2d30"),
        (QPalette.ColorRole.ButtonText, "#dfe1e5"),
        (QPalette.ColorRole.PlaceholderText, "#8c8f94"),
    ):
        palette.setColor(role, QColor(color))
    return palette


@pytest.mark.parametrize("preset", ["mnist-cnn", "residual-circle"])
def test_render_editor_with_a_preset(qtbot, preset):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for dark in (False, True):
        window = QWidget()
        qtbot.addWidget(window)
        layout = QHBoxLayout(window)
        layout.setContentsMargins(0, 0, 0, 0)
        palette = LayerPalette()
        palette.setFixedWidth(180)
        doc = ProjectDocument(load_preset(preset))
        editor = NetworkEditor(doc)
        layout.addWidget(palette)
        layout.addWidget(editor)
        if dark:
            window.setPalette(_dark(QPalette(window.palette())))
        window.resize(1400 if preset == "mnist-cnn" else 1200, 420)
        window.show()
        qtbot.waitExposed(window)
        editor.fit_to_view()
        editor.select_nodes(ids(doc, "Add")[:1] or ids(doc, "Conv2D")[:1])
        path = SHOTS / f"{preset}{'-dark' if dark else ''}.png"
        assert window.grab().save(str(path))
        assert path.stat().st_size > 10_000
        window.close()


def test_render_a_refused_edge_and_an_invalid_node(make_editor, qtbot):
    SHOTS.mkdir(parents=True, exist_ok=True)
    doc = chain_doc("Input", ("Dense", {"units": 2}), "Output")
    editor = make_editor(doc)
    editor.resize(900, 380)
    extra = doc.add_node("Dropout", (220, 150)).id
    editor.fit_to_view()
    inp = ids(doc, "Input")[0]
    with qtbot.waitSignal(editor.message):
        drag(editor, port_pos(editor, extra, "out"), vp(editor, editor.scene.node_items[inp].pos()))
    # Start the same gesture again and hold it, to see the rubber curve over a refused target.
    viewport = editor.view.viewport()
    start, end = port_pos(editor, extra, "out"), vp(editor, editor.scene.node_items[inp].pos())
    QTest.mousePress(viewport, L, NO_MOD, start)
    QApplication.sendEvent(
        viewport,
        QMouseEvent(
            QEvent.Type.MouseMove,
            QPointF(end),
            QPointF(viewport.mapToGlobal(end)),
            Qt.MouseButton.NoButton,
            L,
            NO_MOD,
        ),
    )
    assert editor.scene.node_items[extra].badge.isVisible()
    assert editor.grab().save(str(SHOTS / "refused-edge.png"))
    QTest.keyClick(editor.view, Qt.Key.Key_Escape)
    QTest.mouseRelease(viewport, L, NO_MOD, end)
    assert len(doc.network.edges) == 2
