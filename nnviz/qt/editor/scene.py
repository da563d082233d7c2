"""The scene that mirrors a document's network: one card per node, one curve per edge.

It listens to the core network and the document's analysis and changes only items. The
only state of its own is where cards are while a drag is in progress; the release turns
that into one ``move_nodes`` call on the document.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QGraphicsScene, QGraphicsSceneMouseEvent

from .interactions import MoveInteraction, NewEdgeInteraction
from .items import EdgeItem, NodeItem, PortItem

if TYPE_CHECKING:
    from ...core.graph import Analysis
    from ..document import ProjectDocument


class _NetworkListener:
    """Forwards network events to a scene without keeping it alive after Qt deleted it."""

    def __init__(self, scene: EditorScene) -> None:
        self._scene = weakref.ref(scene)

    def __call__(self, event: str, payload: dict) -> None:
        scene = self._scene()
        if scene is not None and shiboken6.isValid(scene):
            scene._on_network_event(event, payload)


class EditorScene(QGraphicsScene):
    """The diagram of one document's network."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.document: ProjectDocument | None = None
        self.node_items: dict[str, NodeItem] = {}
        self.edge_items: dict[tuple[str, str], EdgeItem] = {}
        self.refusal_anchor: QPointF | None = None  # where a gesture's edit was asked for
        self._listener = _NetworkListener(self)
        self._edge_drag: NewEdgeInteraction | None = None
        self._move: MoveInteraction | None = None

    # ------------------------------------------------------------ document

    def set_document(self, document: ProjectDocument | None) -> None:
        if self.document is not None:
            try:
                self.document.network.remove_listener(self._listener)
            except ValueError:
                pass
            try:
                self.document.analysis_changed.disconnect(self._on_document_analysis_changed)
            except (RuntimeError, TypeError):
                pass
        self.cancel_gestures()
        self.clearSelection()
        self.clear()
        self.node_items.clear()
        self.edge_items.clear()
        self.document = document
        if document is None:
            return
        for node_id in document.network.nodes:
            self._add_node(node_id)
        for edge in document.network.edges:
            self._add_edge(edge.source, edge.target)
        document.network.add_listener(self._listener)
        document.analysis_changed.connect(self._on_document_analysis_changed)

    def _add_node(self, node_id: str) -> None:
        item = NodeItem(self.document, node_id)
        self.node_items[node_id] = item
        self.addItem(item)

    def _add_edge(self, source: str, target: str) -> None:
        item = EdgeItem(self.node_items[source], self.node_items[target])
        self.edge_items[(source, target)] = item
        self.addItem(item)

    def _remove_edge(self, key: tuple[str, str]) -> None:
        item = self.edge_items.pop(key, None)
        if item is not None:
            item.detach()
            self.removeItem(item)

    def _on_network_event(self, event: str, payload: dict) -> None:
        if event == "node_added":
            self._add_node(payload["node"].id)
        elif event == "node_removed":
            node_id = payload["node"].id
            for key in [k for k in self.edge_items if node_id in k]:
                self._remove_edge(key)
            item = self.node_items.pop(node_id, None)
            if item is not None:
                if self._edge_drag is not None and self._edge_drag.port.node is item:
                    self.cancel_gestures()
                self.removeItem(item)
        elif event == "edge_added":
            edge = payload["edge"]
            self._add_edge(edge.source, edge.target)
        elif event == "edge_removed":
            edge = payload["edge"]
            self._remove_edge((edge.source, edge.target))
        elif event == "node_moved":
            item = self.node_items.get(payload["node"].id)
            if item is not None:
                item.sync_position()
        elif event in ("param_changed", "node_renamed"):
            item = self.node_items.get(payload["node"].id)
            if item is not None:
                item.refresh()

    def _on_document_analysis_changed(self, analysis: Analysis) -> None:
        for item in self.node_items.values():
            item.refresh()

    # ------------------------------------------------------------ selection

    def selected_node_ids(self) -> list[str]:
        return [i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)]

    def selected_edges(self) -> list[tuple[str, str]]:
        return [i.key for i in self.selectedItems() if isinstance(i, EdgeItem)]

    # ------------------------------------------------------------ gestures

    def cancel_gestures(self) -> None:
        """Drop a half-drawn edge (Escape, or its node went away)."""
        if self._edge_drag is not None:
            self._edge_drag.cancel()
        self._edge_drag = None
        self._move = None

    def _port_at(self, pos: QPointF) -> PortItem | None:
        for item in self.items(pos):
            if isinstance(item, PortItem):
                return item
        return None

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self.document is not None:
            port = self._port_at(event.scenePos())
            if port is not None:
                self._edge_drag = NewEdgeInteraction(self, port)
                event.accept()
                return
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and isinstance(self.mouseGrabberItem(), NodeItem):
            self._move = MoveInteraction([i for i in self.selectedItems() if isinstance(i, NodeItem)])

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if self._edge_drag is not None:
            self._edge_drag.move(event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if self._edge_drag is not None and event.button() == Qt.MouseButton.LeftButton:
            ends = self._edge_drag.finish(event.scenePos())
            self._edge_drag = None
            event.accept()
            if ends is not None and self.document is not None:
                # A refusal arrives through document.refused; the editor shows it here.
                self.refusal_anchor = event.scenePos()
                try:
                    self.document.connect(*ends)
                finally:
                    self.refusal_anchor = None
            return
        super().mouseReleaseEvent(event)
        if self._move is not None and event.button() == Qt.MouseButton.LeftButton:
            moves = self._move.moves(self)
            self._move = None
            if moves and self.document is not None:
                self.document.move_nodes(moves)
