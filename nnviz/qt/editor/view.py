"""The canvas widget: zoom around the cursor, pan, a dot grid, palette drops and key handling."""

from __future__ import annotations

import math

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeySequence, QPainter, QPalette, QPen
from PySide6.QtWidgets import QFrame, QGraphicsView, QLabel

from .style import mix

PALETTE_MIME = "application/x-nnviz-layer"
MIN_SCALE, MAX_SCALE = 0.15, 4.0
GRID = 20.0
SCENE_EXTENT = 50000.0
TOAST_WIDTH = 380


class EditorView(QGraphicsView):
    """Shows the editor scene; turns drops and keys into requests the editor handles."""

    layer_dropped = Signal(str, QPointF)  # type name, scene position
    delete_requested = Signal()
    copy_requested = Signal()
    cut_requested = Signal()
    paste_requested = Signal()
    select_all_requested = Signal()

    def __init__(self, scene, parent=None) -> None:
        super().__init__(scene, parent)
        self.setRenderHints(
            QPainter.RenderHint.Antialiasing
            | QPainter.RenderHint.TextAntialiasing
            | QPainter.RenderHint.SmoothPixmapTransform
        )
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # A large fixed scene rect lets the user pan past the diagram's edges.
        self.setSceneRect(QRectF(-SCENE_EXTENT, -SCENE_EXTENT, 2 * SCENE_EXTENT, 2 * SCENE_EXTENT))
        self.empty_hint = "Drag layers here from the palette"
        self._pan_from: QPoint | None = None
        self._space = False
        self.toast = QLabel(self.viewport())
        self.toast.hide()
        self._toast_timer = QTimer(self, singleShot=True, interval=3500)
        self._toast_timer.timeout.connect(self.toast.hide)

    # ------------------------------------------------------------ zoom

    def zoom_by(self, factor: float, anchor: QPoint | None = None) -> None:
        """Scale by ``factor`` within the limits, keeping ``anchor`` (view coords) in place."""
        current = self.transform().m11()
        factor = max(MIN_SCALE / current, min(MAX_SCALE / current, factor))
        if abs(factor - 1.0) < 1e-9:
            return
        old_anchor = self.transformationAnchor()
        if anchor is None:
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
            self.scale(factor, factor)
        else:
            before = self.mapToScene(anchor)
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
            self.scale(factor, factor)
            after = self.mapToScene(anchor)
            delta = after - before
            self.translate(delta.x(), delta.y())
        self.setTransformationAnchor(old_anchor)

    def fit_rect(self, rect: QRectF, margin: float = 40.0) -> None:
        """Show ``rect`` whole, never magnified beyond 100 %."""
        if rect.isNull():
            self.resetTransform()
            self.centerOn(0, 0)
            return
        rect = rect.adjusted(-margin, -margin, margin, margin)
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        scale = self.transform().m11()
        if scale > 1.0 or scale < MIN_SCALE:
            s = min(1.0, max(MIN_SCALE, scale))
            self.resetTransform()
            self.scale(s, s)
        self.centerOn(rect.center())

    def wheelEvent(self, event) -> None:  # noqa: N802
        delta = event.angleDelta().y() or event.angleDelta().x()
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier or not delta:
            super().wheelEvent(event)
            return
        self.zoom_by(math.pow(1.0015, delta), event.position().toPoint())
        event.accept()

    # ------------------------------------------------------------ pan

    def _panning(self, event) -> bool:
        return event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self._space
        )

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if self._panning(event):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._pan_from is not None:
            pos = event.position().toPoint()
            delta = pos - self._pan_from
            self._pan_from = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._pan_from is not None:
            self._pan_from = None
            if self._space:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    # ------------------------------------------------------------ keys

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        if event.key() == Qt.Key.Key_Escape and getattr(self.scene(), "cancel_gestures", None):
            self.scene().cancel_gestures()
        elif event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_requested.emit()
        elif event.matches(QKeySequence.StandardKey.Copy):
            self.copy_requested.emit()
        elif event.matches(QKeySequence.StandardKey.Cut):
            self.cut_requested.emit()
        elif event.matches(QKeySequence.StandardKey.Paste):
            self.paste_requested.emit()
        elif event.matches(QKeySequence.StandardKey.SelectAll):
            self.select_all_requested.emit()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def keyReleaseEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            if self._pan_from is None:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:  # noqa: N802
        self._space = False
        super().focusOutEvent(event)

    # ------------------------------------------------------------ drops from the palette

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasFormat(PALETTE_MIME):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802
        if not event.mimeData().hasFormat(PALETTE_MIME):
            event.ignore()
            return
        name = bytes(event.mimeData().data(PALETTE_MIME)).decode("utf-8")
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        self.setFocus()
        self.layer_dropped.emit(name, self.mapToScene(event.position().toPoint()))

    # ------------------------------------------------------------ look

    def show_toast(self, text: str, at: QPoint | None = None) -> None:
        """A short message near ``at`` (view coords) or the bottom centre, gone after a few seconds."""
        self._style_toast()
        self.toast.setText(text)
        # One line when it fits, else wrapped at a comfortable reading width.
        wide = self.toast.fontMetrics().horizontalAdvance(text) + 24 > TOAST_WIDTH
        self.toast.setWordWrap(wide)
        if wide:
            self.toast.setFixedWidth(TOAST_WIDTH)
        else:
            self.toast.setMinimumWidth(0)
            self.toast.setMaximumWidth(16777215)
        self.toast.adjustSize()
        size = self.toast.size()
        area = self.viewport().rect()
        if at is None or not area.contains(at):
            at = QPoint(area.center().x() - size.width() // 2, area.bottom() - size.height() - 16)
        else:
            at = at + QPoint(14, 14)
        x = max(4, min(at.x(), area.right() - size.width() - 4))
        y = max(4, min(at.y(), area.bottom() - size.height() - 4))
        self.toast.move(x, y)
        self.toast.show()
        self.toast.raise_()
        self._toast_timer.start()

    def _style_toast(self) -> None:
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.Text)
        base = pal.color(QPalette.ColorRole.Base)
        bg = mix(text, base, 0.12)
        self.toast.setStyleSheet(
            f"QLabel {{ background: rgba({bg.red()}, {bg.green()}, {bg.blue()}, 235); color: {base.name()};"
            " border-radius: 6px;"
            " padding: 6px 10px; }"
        )

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        pal = self.palette()
        base = pal.color(QPalette.ColorRole.Base)
        text = pal.color(QPalette.ColorRole.Text)
        painter.fillRect(rect, base)
        scale = self.transform().m11()
        step = GRID
        while step * scale < 14:
            step *= 2
        dot = mix(base, text, 0.16)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        pen = QPen(dot, 2.0 if scale >= 0.6 else 1.5)
        pen.setCosmetic(True)
        painter.setPen(pen)
        left = math.floor(rect.left() / step) * step
        top = math.floor(rect.top() / step) * step
        points = []
        y = top
        while y < rect.bottom():
            x = left
            while x < rect.right():
                points.append(QPointF(x, y))
                x += step
            y += step
        if points:
            painter.drawPoints(points)
        painter.restore()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        scene = self.scene()
        if scene is None or getattr(scene, "node_items", None):
            return
        painter.save()
        painter.resetTransform()
        pal = self.palette()
        color = mix(pal.color(QPalette.ColorRole.Text), pal.color(QPalette.ColorRole.Base), 0.5)
        painter.setPen(QColor(color))
        font = self.font()
        font.setPointSizeF((font.pointSizeF() if font.pointSizeF() > 0 else 9) + 2)
        painter.setFont(font)
        painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, self.empty_hint)
        painter.restore()
