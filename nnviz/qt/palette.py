"""The palette of layer types that the user drags onto the canvas."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QMimeData, Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from ..core.layers import LAYER_TYPES
from .editor.style import categories, layer_icon
from .editor.view import PALETTE_MIME

__all__ = ["LayerPalette", "PALETTE_MIME"]

TYPE_ROLE = Qt.ItemDataRole.UserRole


def layer_mime_data(type_name: str) -> QMimeData:
    """What a drag of ``type_name`` out of the palette carries."""
    mime = QMimeData()
    mime.setData(PALETTE_MIME, type_name.encode("utf-8"))
    return mime


class _LayerTree(QTreeWidget):
    """The list itself: category headings with their layer types; entries drag out as PALETTE_MIME."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setRootIsDecorated(False)
        self.setIndentation(6)
        self.setUniformRowHeights(False)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setItemsExpandable(False)
        self.setExpandsOnDoubleClick(False)

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt's name
        return [PALETTE_MIME]

    def mimeData(self, items) -> QMimeData:  # noqa: N802
        names = [i.data(0, TYPE_ROLE) for i in items if i.data(0, TYPE_ROLE)]
        return layer_mime_data(names[0]) if names else QMimeData()

    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.CopyAction


class LayerPalette(QWidget):
    """Layer types grouped by category, with icons and explanatory tooltips, to drag onto the canvas."""

    layer_activated = Signal(str)  # type name: double-click or Enter adds it at the canvas centre

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter layers")
        self.filter.setClearButtonEnabled(True)
        self.tree = _LayerTree(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree)
        self._populate()
        self.tree.itemActivated.connect(self._on_tree_item_activated)
        self.filter.textChanged.connect(self._on_filter_text_changed)

    def _populate(self) -> None:
        self.tree.clear()
        heading_font = QFont(self.font())
        heading_font.setBold(True)
        heading_font.setPointSizeF(max(6.0, (self.font().pointSizeF() or 9.0) - 1.0))
        for category, layers in categories():
            heading = QTreeWidgetItem(self.tree, [category.upper()])
            heading.setFlags(Qt.ItemFlag.ItemIsEnabled)
            heading.setFont(0, heading_font)
            for layer in layers:
                entry = QTreeWidgetItem(heading, [layer.name])
                entry.setToolTip(0, layer.tooltip())
                entry.setStatusTip(0, layer.summary)
                entry.setData(0, TYPE_ROLE, layer.name)
                entry.setFlags(
                    Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled
                )
        self.tree.expandAll()
        self._restyle()

    def _restyle(self) -> None:
        """Icons and heading colours for the current (light or dark) palette."""
        muted = self.palette().color(QPalette.ColorRole.PlaceholderText)
        for i in range(self.tree.topLevelItemCount()):
            self.tree.topLevelItem(i).setForeground(0, muted)
        for name, entry in self.items().items():
            entry.setIcon(0, layer_icon(LAYER_TYPES[name], self.palette()))

    def items(self) -> dict[str, QTreeWidgetItem]:
        """Type name -> its entry in the list (for tests and the window's keyboard focus)."""
        out = {}
        for i in range(self.tree.topLevelItemCount()):
            heading = self.tree.topLevelItem(i)
            for j in range(heading.childCount()):
                entry = heading.child(j)
                out[entry.data(0, TYPE_ROLE)] = entry
        return out

    def _on_tree_item_activated(self, item: QTreeWidgetItem, column: int) -> None:
        name = item.data(0, TYPE_ROLE)
        if name in LAYER_TYPES:
            self.layer_activated.emit(name)

    def _on_filter_text_changed(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.tree.topLevelItemCount()):
            heading = self.tree.topLevelItem(i)
            visible = 0
            for j in range(heading.childCount()):
                entry = heading.child(j)
                layer = LAYER_TYPES[entry.data(0, TYPE_ROLE)]
                match = not needle or needle in layer.name.lower() or needle in layer.summary.lower()
                entry.setHidden(not match)
                visible += match
            heading.setHidden(visible == 0)

    def changeEvent(self, event) -> None:  # noqa: N802
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()
        super().changeEvent(event)
