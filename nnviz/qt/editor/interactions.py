"""Mouse gestures on the canvas that end in one document edit: drawing an edge, moving nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from .items import NodeItem, PortItem, curve
from .style import ERROR_COLOR

if TYPE_CHECKING:
    from .scene import EditorScene


class NewEdgeInteraction:
    """A rubber curve dragged out of a port; released on a matching port it asks the document to connect.

    Dragging from an output looks for an input and the other way round. Releasing over a
    card (not exactly on its port) counts as its matching port. The curve turns red over a
    card the core would refuse, and the document says why on release.
    """

    SNAP = 22.0

    def __init__(self, scene: EditorScene, port: PortItem) -> None:
        self.scene, self.port = scene, port
        self.want = "in" if port.kind == "out" else "out"
        self.candidate: PortItem | None = None
        self.target: NodeItem | None = None
        self.line = QGraphicsPathItem()
        self.line.setZValue(10)
        scene.addItem(self.line)
        port.set_highlighted(True)
        self.move(port.scenePos())

    def _ends(self, other: str) -> tuple[str, str]:
        me = self.port.node_id
        return (me, other) if self.port.kind == "out" else (other, me)

    def find_target(self, pos: QPointF) -> tuple[NodeItem | None, PortItem | None]:
        """The card to connect to near ``pos``, and its port of the wanted kind if it has one.

        The nearest such port within reach wins; otherwise the card under the cursor, even one
        without that port (an Input has no input), so the core can say why it cannot be.
        """
        best, best_d = None, self.SNAP
        area = QRectF(pos.x() - self.SNAP, pos.y() - self.SNAP, 2 * self.SNAP, 2 * self.SNAP)
        for item in self.scene.items(area):
            if isinstance(item, PortItem) and item.kind == self.want and item.node is not self.port.node:
                d = (item.scenePos() - pos).manhattanLength()
                if d < best_d:
                    best, best_d = item, d
        if best is not None:
            return best.node, best
        for item in self.scene.items(pos):
            if isinstance(item, PortItem):
                item = item.node
            if isinstance(item, NodeItem):
                return (item, item.port(self.want)) if item is not self.port.node else (None, None)
        return None, None

    def move(self, pos: QPointF) -> None:
        node, port = self.find_target(pos)
        if port is not self.candidate:
            if self.candidate is not None:
                self.candidate.set_highlighted(False)
            self.candidate = port
            if port is not None:
                port.set_highlighted(True)
        self.target = node
        end = port.scenePos() if port is not None else pos
        start = self.port.scenePos()
        if port is not None:
            path = curve(start, end) if self.port.kind == "out" else curve(end, start)
        else:
            # Free end: leave the port horizontally, then head straight for the cursor.
            reach = min(80.0, QLineF(start, end).length() / 2)
            path = QPainterPath(start)
            out = 1.0 if self.port.kind == "out" else -1.0
            path.cubicTo(QPointF(start.x() + out * reach, start.y()), end, end)
        views = self.scene.views()
        palette = views[0].palette() if views else self.scene.palette()
        color = palette.color(QPalette.ColorRole.Highlight)
        if node is not None and self.scene.document is not None:
            if self.scene.document.network.check_connection(*self._ends(node.node_id)):
                color = ERROR_COLOR
        self.line.setPen(QPen(color, 2.0, Qt.PenStyle.DashLine, Qt.PenCapStyle.RoundCap))
        self.line.setPath(path)

    def finish(self, pos: QPointF) -> tuple[str, str] | None:
        """Remove the rubber curve; (source, target) ids when released over a card or port, else None."""
        self.move(pos)
        target = self.target
        self.cancel()
        return self._ends(target.node_id) if target is not None else None

    def cancel(self) -> None:
        for port in (self.port, self.candidate):
            if port is not None:
                port.set_highlighted(False)
        if self.line.scene() is not None:
            self.scene.removeItem(self.line)


class MoveInteraction:
    """Remembers where the selected cards were when a drag began, so the release records one move."""

    def __init__(self, items: list[NodeItem]) -> None:
        self.start = {item.node_id: (item.pos().x(), item.pos().y()) for item in items}

    def moves(self, scene: EditorScene) -> dict[str, tuple[tuple[float, float], tuple[float, float]]]:
        out = {}
        for node_id, old in self.start.items():
            item = scene.node_items.get(node_id)
            if item is not None:
                new = (item.pos().x(), item.pos().y())
                if new != old:
                    out[node_id] = (old, new)
        return out
