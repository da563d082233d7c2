"""The graphics items of the diagram: layer cards, their ports, edges and error badges.

Items hold a reference to the document and a node id and read everything they show
from the core network and the document's current analysis at paint time, so there is
no second copy of the model to keep in step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPalette,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsPathItem,
    QStyle,
    QStyleOptionGraphicsItem,
)

from ...core.layers import shape_text
from .style import ERROR_COLOR, category_color, icon_pixmap, is_dark, key_params, mix, params_text

if TYPE_CHECKING:
    from ..document import ProjectDocument

NODE_WIDTH = 150.0
HEADER_HEIGHT = 22.0
LINE_HEIGHT = 15.0
PAD = 8.0
PORT_RADIUS = 5.0
CORNER = 7.0
ARROW = 8.0


def _view(item: QGraphicsItem):
    scene = item.scene()
    views = scene.views() if scene is not None else []
    return views[0] if views else None


def _palette(item: QGraphicsItem) -> QPalette:
    """The palette of the view showing the item, so cards follow the window's light or dark theme."""
    view = _view(item)
    return view.palette() if view is not None else QPalette()


def _base_font(item: QGraphicsItem) -> QFont:
    view = _view(item)
    return view.font() if view is not None else QFont()


def _font(base: QFont, delta: float = 0.0, bold: bool = False) -> QFont:
    font = QFont(base)
    size = base.pointSizeF() if base.pointSizeF() > 0 else 9.0
    font.setPointSizeF(max(6.0, size + delta))
    font.setBold(bold)
    return font


class PortItem(QGraphicsItem):
    """A node's input (left) or output (right) connector; edges are dragged from here."""

    def __init__(self, node: NodeItem, kind: str) -> None:
        super().__init__(node)
        self.node, self.kind = node, kind  # kind: "in" or "out"
        self.highlighted = False
        self.setAcceptHoverEvents(True)
        x = -NODE_WIDTH / 2 if kind == "in" else NODE_WIDTH / 2
        self.setPos(x, 0.0)
        self.setZValue(2)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Drag to an input to connect" if kind == "out" else "Drag to an output to connect")

    @property
    def node_id(self) -> str:
        return self.node.node_id

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        r = PORT_RADIUS + 6
        return QRectF(-r, -r, 2 * r, 2 * r)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addEllipse(self.boundingRect())  # generous hit area, drawn smaller
        return path

    def set_highlighted(self, on: bool) -> None:
        if on != self.highlighted:
            self.highlighted = on
            self.update()

    def hoverEnterEvent(self, event) -> None:  # noqa: N802
        self.set_highlighted(True)

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802
        self.set_highlighted(False)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        pal = _palette(self)
        base = pal.color(QPalette.ColorRole.Base)
        color = category_color(self.node.layer_category())
        r = PORT_RADIUS + (1.5 if self.highlighted else 0)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(color.darker(115) if not is_dark(pal) else color.lighter(120), 1.6))
        painter.setBrush(color if self.highlighted else base)
        painter.drawEllipse(QPointF(0, 0), r, r)


class ErrorBadgeItem(QGraphicsItem):
    """A red "!" on the card's corner while the core reports problems with the node."""

    SIZE = 18.0

    def __init__(self, node: NodeItem) -> None:
        super().__init__(node)
        self.setPos(NODE_WIDTH / 2 - 3, -node.height / 2 + 3)
        self.setZValue(3)
        self.setVisible(False)

    def boundingRect(self) -> QRectF:  # noqa: N802
        s = self.SIZE
        return QRectF(-s / 2 - 1, -s / 2 - 1, s + 2, s + 2)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        s = self.SIZE
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(_palette(self).color(QPalette.ColorRole.Base), 2))
        painter.setBrush(ERROR_COLOR)
        painter.drawEllipse(QRectF(-s / 2, -s / 2, s, s))
        painter.setPen(QColor("white"))
        painter.setFont(_font(QFont(), 0.5, bold=True))
        painter.drawText(QRectF(-s / 2, -s / 2, s, s), Qt.AlignmentFlag.AlignCenter, "!")


class NodeItem(QGraphicsObject):
    """A layer as a rounded card: name and type, key parameters, output shape, parameter count."""

    def __init__(self, document: ProjectDocument, node_id: str) -> None:
        super().__init__()
        self.document, self.node_id = document, node_id
        self.edges: list[EdgeItem] = []
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
            | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges
        )
        self.setAcceptHoverEvents(True)
        self._hovered = False
        layer = self.node.layer
        self.lines = 3 if key_params(self.node) else 2
        self.height = HEADER_HEIGHT + self.lines * LINE_HEIGHT + 7
        self.input_port = PortItem(self, "in") if layer.max_inputs != 0 else None
        self.output_port = PortItem(self, "out") if layer.has_output else None
        self.badge = ErrorBadgeItem(self)
        self.sync_position()
        self.refresh()

    # ------------------------------------------------------------ model

    @property
    def node(self):
        return self.document.network.nodes[self.node_id]

    def layer_category(self) -> str:
        return self.node.layer.category

    def problems(self) -> list[str]:
        return self.document.analysis.problems_of(self.node_id)

    def sync_position(self) -> None:
        x, y = self.node.position
        if self.pos() != QPointF(x, y):
            self.setPos(x, y)

    def refresh(self) -> None:
        """Re-read the node and the analysis: tooltip, badge and the card's texts."""
        if self.node_id not in self.document.network.nodes:
            return  # the document heard of the removal first; our scene is about to drop us
        problems = self.problems()
        self.badge.setVisible(bool(problems))
        tip = "\n".join(problems)
        self.badge.setToolTip(tip)
        self.setToolTip(tip if problems else self.node.layer.tooltip())
        self.update()

    def port(self, kind: str) -> PortItem | None:
        return self.input_port if kind == "in" else self.output_port

    # ------------------------------------------------------------ Qt

    def boundingRect(self) -> QRectF:  # noqa: N802
        return QRectF(-NODE_WIDTH / 2 - 4, -self.height / 2 - 4, NODE_WIDTH + 8, self.height + 10)

    def card_rect(self) -> QRectF:
        return QRectF(-NODE_WIDTH / 2, -self.height / 2, NODE_WIDTH, self.height)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(self.card_rect(), CORNER, CORNER)
        return path

    def itemChange(self, change, value):  # noqa: N802
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for edge in self.edges:
                edge.adjust()
        elif change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self.setZValue(1 if value else 0)
        return super().itemChange(change, value)

    def hoverEnterEvent(self, event) -> None:  # noqa: N802
        self._hovered = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802
        self._hovered = False
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        if self.node_id not in self.document.network.nodes:
            return
        node = self.node
        layer = node.layer
        pal = _palette(self)
        dark = is_dark(pal)
        base = pal.color(QPalette.ColorRole.Base)
        text = pal.color(QPalette.ColorRole.Text)
        muted = mix(text, base, 0.42)
        hue = category_color(layer.category)
        if dark:
            hue = mix(hue, QColor("white"), 0.15)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        problems = self.problems()
        rect = self.card_rect()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)

        # A soft shadow: two translucent offsets are enough at this size.
        painter.setPen(Qt.PenStyle.NoPen)
        for dy, alpha in ((3.0, 22 if not dark else 60), (1.5, 26 if not dark else 70)):
            painter.setBrush(QColor(0, 0, 0, alpha))
            painter.drawRoundedRect(rect.translated(0, dy), CORNER, CORNER)

        body = mix(base, hue, 0.07 if not dark else 0.12)
        painter.setBrush(body)
        painter.drawRoundedRect(rect, CORNER, CORNER)

        header = QPainterPath()
        header.addRoundedRect(rect, CORNER, CORNER)
        clip = QPainterPath()
        clip.addRect(QRectF(rect.left(), rect.top(), rect.width(), HEADER_HEIGHT))
        painter.setBrush(mix(base, hue, 0.22 if not dark else 0.35))
        painter.drawPath(header.intersected(clip))

        if selected:
            border = QPen(pal.color(QPalette.ColorRole.Highlight), 2.4)
        elif problems:
            border = QPen(ERROR_COLOR, 1.4)
        else:
            border = QPen(mix(hue, base, 0.25) if not self._hovered else hue, 1.2)
        painter.setPen(border)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(rect, CORNER, CORNER)

        pad = PAD
        icon = icon_pixmap(layer.icon, hue if not dark else mix(hue, QColor("white"), 0.2), 16)
        painter.drawPixmap(QPointF(rect.left() + pad - 1, rect.top() + (HEADER_HEIGHT - 16) / 2), icon)

        base_font = _base_font(self)
        name_font = _font(base_font, 0.0, bold=True)
        small = _font(base_font, -1.0)
        fm_small = QFontMetricsF(small)
        left = rect.left() + pad
        width = rect.width() - 2 * pad
        align_l = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
        align_r = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight

        name_left = left + 20
        name_w = rect.right() - pad - name_left - (10 if problems else 0)
        painter.setFont(name_font)
        painter.setPen(text)
        name = QFontMetricsF(name_font).elidedText(node.name, Qt.TextElideMode.ElideRight, name_w)
        painter.drawText(QRectF(name_left, rect.top(), name_w, HEADER_HEIGHT), align_l, name)

        line = QRectF(left, rect.top() + HEADER_HEIGHT + 3, width, LINE_HEIGHT)
        # Line 1: the type, and on the right the parameter count.
        count = self.document.analysis.param_counts.get(self.node_id)
        pcount = params_text(layer, count)
        painter.setFont(small)
        painter.setPen(muted)
        if pcount:
            painter.drawText(line, align_r, pcount)
        type_w = width - (fm_small.horizontalAdvance(pcount) + 6 if pcount else 0)
        painter.drawText(
            QRectF(line.left(), line.top(), type_w, LINE_HEIGHT),
            align_l,
            fm_small.elidedText(node.type, Qt.TextElideMode.ElideRight, type_w),
        )
        # Line 2: the parameters that matter.
        summary = key_params(node)
        if summary:
            line.translate(0, LINE_HEIGHT)
            painter.setPen(text)
            painter.drawText(line, align_l, fm_small.elidedText(summary, Qt.TextElideMode.ElideRight, width))
        # Last line: what comes out.
        line.translate(0, LINE_HEIGHT)
        shape = self.document.analysis.shapes.get(self.node_id)
        bold_small = _font(base_font, -1.0, bold=True)
        painter.setFont(bold_small)
        painter.setPen(ERROR_COLOR if shape is None and problems else text)
        painter.drawText(
            line,
            align_l,
            QFontMetricsF(bold_small).elidedText(
                "→ " + shape_text(shape), Qt.TextElideMode.ElideRight, width
            ),
        )


class EdgeItem(QGraphicsPathItem):
    """An edge as a smooth cubic curve from an output port to an input port, with an arrow."""

    def __init__(self, source: NodeItem, target: NodeItem) -> None:
        super().__init__()
        self.source, self.target = source, target
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(-1)
        self._hovered = False
        self._arrow = QPolygonF()
        source.edges.append(self)
        target.edges.append(self)
        self.adjust()

    @property
    def key(self) -> tuple[str, str]:
        return self.source.node_id, self.target.node_id

    def detach(self) -> None:
        for node in (self.source, self.target):
            if self in node.edges:
                node.edges.remove(self)

    def adjust(self) -> None:
        start = self.source.output_port.scenePos() if self.source.output_port else self.source.scenePos()
        end = self.target.input_port.scenePos() if self.target.input_port else self.target.scenePos()
        tip = QPointF(end.x() - PORT_RADIUS - 1, end.y())
        self.prepareGeometryChange()
        self.setPath(
            curve(QPointF(start.x() + PORT_RADIUS, start.y()), QPointF(tip.x() - ARROW + 1, tip.y()))
        )
        self._arrow = QPolygonF(
            [
                tip,
                QPointF(tip.x() - ARROW, tip.y() - ARROW / 2),
                QPointF(tip.x() - ARROW, tip.y() + ARROW / 2),
            ]
        )

    def boundingRect(self) -> QRectF:  # noqa: N802
        return super().boundingRect().united(self._arrow.boundingRect()).adjusted(-4, -4, 4, 4)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(12)
        path = stroker.createStroke(self.path())
        path.addPolygon(self._arrow)
        return path

    def hoverEnterEvent(self, event) -> None:  # noqa: N802
        self._hovered = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802
        self._hovered = False
        self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        pal = _palette(self)
        text = pal.color(QPalette.ColorRole.Text)
        base = pal.color(QPalette.ColorRole.Base)
        if self.isSelected():
            color, width = pal.color(QPalette.ColorRole.Highlight), 2.6
        else:
            color, width = mix(text, base, 0.35 if self._hovered else 0.5), 1.8 if self._hovered else 1.6
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())
        painter.setPen(
            QPen(color, 1.0, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
        )
        painter.setBrush(QBrush(color))
        painter.drawPolygon(self._arrow)


def curve(start: QPointF, end: QPointF) -> QPainterPath:
    """A horizontal-tangent cubic from ``start`` to ``end``; bends further for backward links."""
    dx = end.x() - start.x()
    dy = abs(end.y() - start.y())
    pull = max(dx * 0.5, min(40.0, dy * 0.3 + 8)) if dx >= 0 else max(80.0, min(200.0, -dx * 0.6))
    path = QPainterPath(start)
    path.cubicTo(QPointF(start.x() + pull, start.y()), QPointF(end.x() - pull, end.y()), end)
    return path
