"""The network diagram editor: a canvas that mirrors a document's network and edits it.

``NetworkEditor`` is the widget the main window embeds. Every change it makes goes
through the ``ProjectDocument`` (one undoable command per gesture); the scene then
follows the network's events.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData, QPointF, Signal
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from ...core.graph import GraphError
from ..document import LOCKED
from .items import EdgeItem, NodeItem, PortItem
from .scene import EditorScene
from .view import PALETTE_MIME, EditorView

if TYPE_CHECKING:
    from ..document import ProjectDocument

__all__ = [
    "NetworkEditor",
    "EditorScene",
    "EditorView",
    "NodeItem",
    "EdgeItem",
    "PortItem",
    "PALETTE_MIME",
    "NODES_MIME",
]

NODES_MIME = "application/x-nnviz-nodes"
PASTE_OFFSET = 40.0
ZOOM_STEP = 1.25


class NetworkEditor(QWidget):
    """The diagram canvas of one project: drop, connect, select, move, delete, copy and paste layers."""

    selection_changed = Signal(list)  # selected node ids
    message = Signal(str)  # a short text for the status bar

    def __init__(self, document: ProjectDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: ProjectDocument | None = None
        self.scene = EditorScene(self)
        self.view = EditorView(self.scene, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self._paste_count = 0
        self._paste_source: bytes | None = None
        self._fit_pending = False
        self.scene.selectionChanged.connect(self._on_scene_selection_changed)
        self.view.layer_dropped.connect(self._on_view_layer_dropped)
        self.view.delete_requested.connect(self.delete_selected)
        self.view.copy_requested.connect(self.copy)
        self.view.cut_requested.connect(self.cut)
        self.view.paste_requested.connect(self.paste)
        self.view.select_all_requested.connect(self.select_all)
        self.setFocusProxy(self.view)
        self.set_document(document)

    # ------------------------------------------------------------ document

    def set_document(self, document: ProjectDocument) -> None:
        """Show another project (File > New / Open); the old one is let go."""
        if self.document is not None:
            try:
                self.document.refused.disconnect(self._on_document_refused)
            except (RuntimeError, TypeError):
                pass
        self.document = document
        self._paste_count = 0
        self.scene.set_document(document)
        if document is not None:
            document.refused.connect(self._on_document_refused)
        self._fit_pending = True
        if self.isVisible():
            self.fit_to_view()
        self.selection_changed.emit(self.selected_node_ids())

    def _on_document_refused(self, reason: str) -> None:
        self._notify(reason)

    def _notify(self, text: str) -> None:
        self.message.emit(text)
        anchor = self.scene.refusal_anchor  # set while a mouse gesture asks for an edit
        self.view.show_toast(text, self.view.mapFromScene(anchor) if anchor is not None else None)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._fit_pending:
            self.fit_to_view()

    # ------------------------------------------------------------ selection

    def selected_node_ids(self) -> list[str]:
        return self.scene.selected_node_ids()

    def select_nodes(self, ids) -> None:
        wanted = set(ids)
        self.scene.blockSignals(True)
        try:
            self.scene.clearSelection()
            for node_id in wanted:
                item = self.scene.node_items.get(node_id)
                if item is not None:
                    item.setSelected(True)
        finally:
            self.scene.blockSignals(False)
        self._on_scene_selection_changed()

    def select_all(self) -> None:
        self.select_nodes(list(self.scene.node_items))

    def _on_scene_selection_changed(self) -> None:
        self.selection_changed.emit(self.selected_node_ids())

    # ------------------------------------------------------------ edits

    def _refuse_if_locked(self) -> bool:
        if self.document is not None and self.document.training_lock:
            self._notify(LOCKED)
            return True
        return False

    def _on_view_layer_dropped(self, type_name: str, pos: QPointF) -> None:
        if self.document is None:
            return
        node = self.document.add_node(type_name, (pos.x(), pos.y()))
        if node is not None:
            self.select_nodes([node.id])

    def delete_selected(self) -> None:
        """Delete the selected nodes (with their edges) and the selected edges, as one undo step."""
        doc = self.document
        node_ids = self.selected_node_ids()
        doomed = set(node_ids)
        edges = [e for e in self.scene.selected_edges() if e[0] not in doomed and e[1] not in doomed]
        if doc is None or not (node_ids or edges) or self._refuse_if_locked():
            return
        self._delete(node_ids, edges, "Delete")

    def _delete(self, node_ids: list[str], edges: list[tuple[str, str]], text: str) -> None:
        stack = self.document.undo_stack
        macro = len(edges) + (1 if node_ids else 0) > 1 or text != "Delete"
        if macro:
            stack.beginMacro(text)
        try:
            for source, target in edges:
                self.document.disconnect(source, target)
            if node_ids:
                self.document.remove_nodes(node_ids)
        finally:
            if macro:
                stack.endMacro()

    def copy(self) -> None:
        """Put the selected nodes and the edges among them on the clipboard."""
        payload = self._selection_payload()
        if payload is None:
            return
        mime = QMimeData()
        data = json.dumps(payload).encode("utf-8")
        mime.setData(NODES_MIME, data)
        QApplication.clipboard().setMimeData(mime)
        self._paste_count = 0
        n = len(payload["nodes"])
        self.message.emit(f"Copied {n} layer" + ("" if n == 1 else "s"))

    def cut(self) -> None:
        if self._refuse_if_locked():
            return
        ids = self.selected_node_ids()
        if not ids:
            return
        self.copy()
        self._delete(ids, [], "Cut")

    def _selection_payload(self) -> dict | None:
        doc = self.document
        ids = self.selected_node_ids()
        if doc is None or not ids:
            return None
        chosen = set(ids)
        nodes = [doc.network.nodes[i] for i in doc.network.nodes if i in chosen]
        return {
            "format": "nnviz-nodes",
            "nodes": [
                {
                    "id": n.id,
                    "type": n.type,
                    "name": n.name,
                    "params": dict(n.params),
                    "position": list(n.position),
                }
                for n in nodes
            ],
            "edges": [
                {"source": e.source, "target": e.target}
                for e in doc.network.edges
                if e.source in chosen and e.target in chosen
            ],
        }

    def paste(self) -> None:
        """Add copies of the clipboard's nodes (new ids), offset, selected, as one undo step."""
        doc = self.document
        mime = QApplication.clipboard().mimeData()
        if doc is None or mime is None or not mime.hasFormat(NODES_MIME):
            self.message.emit("Nothing to paste: copy some layers first")
            return
        raw = bytes(mime.data(NODES_MIME))
        try:
            payload = json.loads(raw.decode("utf-8"))
            nodes, edges = payload["nodes"], payload["edges"]
        except (ValueError, KeyError, TypeError):
            self.message.emit("The clipboard holds no layers nnviz can paste")
            return
        if self._refuse_if_locked():
            return
        if raw != self._paste_source:
            self._paste_source, self._paste_count = raw, 0
        self._paste_count += 1
        offset = PASTE_OFFSET * self._paste_count
        new_ids: dict[str, str] = {}
        doc.undo_stack.beginMacro("Paste")
        try:
            for raw_node in nodes:
                x, y = raw_node["position"]
                try:
                    node = doc.add_node(
                        raw_node["type"], (x + offset, y + offset), raw_node.get("params") or {}
                    )
                except GraphError as exc:  # e.g. a type this version does not know: skip it, say so
                    self.message.emit(f"Could not paste a {raw_node.get('type')!r} layer: {exc}")
                    continue
                if node is not None:
                    new_ids[raw_node["id"]] = node.id
            for edge in edges:
                source, target = new_ids.get(edge["source"]), new_ids.get(edge["target"])
                if source and target:
                    doc.connect(source, target)
        finally:
            doc.undo_stack.endMacro()
        self.select_nodes(list(new_ids.values()))
        n = len(new_ids)
        self.message.emit(f"Pasted {n} layer" + ("" if n == 1 else "s"))

    # ------------------------------------------------------------ view

    def zoom_in(self) -> None:
        self.view.zoom_by(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.view.zoom_by(1 / ZOOM_STEP)

    def fit_to_view(self) -> None:
        self._fit_pending = False
        rect = None
        for item in self.scene.node_items.values():
            r = item.sceneBoundingRect()
            rect = r if rect is None else rect.united(r)
        if rect is None:
            self.view.resetTransform()
            self.view.centerOn(0, 0)
            return
        self.view.fit_rect(rect)

    def arrange(self) -> None:
        """Automatic left-to-right layout (one undo step), then show it all."""
        if self.document is None:
            return
        self.document.apply_layout()
        self.fit_to_view()
