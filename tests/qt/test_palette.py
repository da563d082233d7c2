"""The layer palette lists every registered type, explains it, and hands it out by drag or activation."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from nnviz.core.layers import LAYER_TYPES
from nnviz.qt.palette import PALETTE_MIME, LayerPalette


def make(qtbot) -> LayerPalette:
    palette = LayerPalette()
    qtbot.addWidget(palette)
    palette.resize(220, 520)
    palette.show()
    qtbot.waitExposed(palette)
    return palette


def test_every_registered_type_is_listed_under_its_category_with_its_tooltip(qtbot):
    palette = make(qtbot)
    items = palette.items()
    assert sorted(items) == sorted(LAYER_TYPES)
    for name, item in items.items():
        layer = LAYER_TYPES[name]
        assert item.text(0) == name
        assert item.toolTip(0) == layer.tooltip()
        assert layer.summary in item.toolTip(0) and layer.formula in item.toolTip(0)
        assert item.parent().text(0) == layer.category.upper()
        assert not item.icon(0).isNull()
    assert "output = f(W·x + b)" in items["Dense"].toolTip(0)
    # Category headings are labels, not draggable entries.
    heading = items["Dense"].parent()
    assert not heading.flags() & Qt.ItemFlag.ItemIsDragEnabled
    assert palette.tree.mimeData([heading]).formats() == []


def test_an_entry_drags_out_as_its_type_name(qtbot):
    palette = make(qtbot)
    for name, item in palette.items().items():
        mime = palette.tree.mimeData([item])
        assert mime.formats() == [PALETTE_MIME]
        assert bytes(mime.data(PALETTE_MIME)).decode("utf-8") == name
    assert palette.tree.dragEnabled()


def test_double_click_and_enter_activate_a_layer(qtbot):
    palette = make(qtbot)
    tree = palette.tree
    item = palette.items()["MaxPool2D"]
    tree.scrollToItem(item)
    centre = tree.visualItemRect(item).center()
    with qtbot.waitSignal(palette.layer_activated) as clicked:
        # A real double-click starts with a press; QTest.mouseDClick alone sends no press.
        QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre)
        QTest.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre)
    assert clicked.args == ["MaxPool2D"]
    tree.setCurrentItem(palette.items()["Dropout"])
    tree.setFocus()
    with qtbot.waitSignal(palette.layer_activated) as entered:
        QTest.keyClick(tree, Qt.Key.Key_Return)
    assert entered.args == ["Dropout"]
    heading = item.parent()
    with qtbot.assertNotEmitted(palette.layer_activated):
        tree.itemActivated.emit(heading, 0)


def test_filter_hides_what_does_not_match(qtbot):
    palette = make(qtbot)
    qtbot.keyClicks(palette.filter, "pool")
    visible = [n for n, i in palette.items().items() if not i.isHidden()]
    assert visible == ["MaxPool2D", "AvgPool2D", "GlobalAveragePool2D"]
    assert palette.items()["Dense"].parent().isHidden()
    palette.filter.clear()
    assert all(not i.isHidden() and not i.parent().isHidden() for i in palette.items().values())
