"""What every visualisation panel shares: context, snapshots, the selected sample, hover, export.

A panel builds its pyqtgraph items once per architecture (``_rebuild``) and afterwards
only feeds them new arrays (``_update``), so that the GUI keeps up with training.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from .dataset_info import DatasetInfo
from .description import PanelDescription
from .drawing.colors import BACKGROUND
from .drawing.theme import LIGHT, Theme, recolour_scene

HoverFn = Callable[[int, int], str | None]


class Panel(QWidget):
    """Base of the training visualisations: context, snapshots, selected sample, hover readout, export."""

    sample_selected = Signal(int)
    description = PanelDescription("panel", "Panel", "")  # each panel class declares its own
    scrolls = False  # True: the graphics sit in a scroll area and grow with the content

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.network = None
        self.analysis = None
        self.info: DatasetInfo | None = None
        self.snapshot = None
        self._selected = 0
        self._arch_key: Any = None
        self._hover: list[tuple[pg.ImageItem, HoverFn]] = []
        self.rebuilds = 0  # how often items were (re)built: tests check that updates reuse them
        self.theme = LIGHT  # the colours the items are drawn in now (built in LIGHT's)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.setSpacing(2)
        self.controls = QHBoxLayout()
        self.controls.setContentsMargins(2, 0, 2, 0)
        outer.addLayout(self.controls)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(BACKGROUND)
        self.layout_ = self.graphics.ci
        self.layout_.setContentsMargins(6, 6, 6, 6)
        if self.scrolls:
            self._scroll = QScrollArea()
            self._scroll.setWidgetResizable(True)
            self._scroll.setWidget(self.graphics)
            self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            outer.addWidget(self._scroll, 1)
        else:
            outer.addWidget(self.graphics, 1)
        self.readout = QLabel(" ")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.readout.setStyleSheet("padding: 2px 4px;")  # text colour from the palette
        outer.addWidget(self.readout)
        self.graphics.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)

    # ------------------------------------------------------------ palette

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.PaletteChange:
            self.apply_theme()
        super().changeEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802
        self.apply_theme()  # built before it was in a window: the window's palette may be dark
        super().showEvent(event)

    def apply_theme(self, theme: Theme | None = None, rebuilt: bool = False) -> None:
        """Recolour background, axes, labels and legends to ``theme`` (default: from the palette).

        Items are made in LIGHT's colours; ``rebuilt`` says new ones may have come since.
        """
        theme = theme or Theme.from_palette(self.palette())
        if theme == self.theme and not (rebuilt and theme != LIGHT):
            return
        old, self.theme = self.theme, theme
        self.graphics.setBackground(theme.background)
        recolour_scene(self.graphics.scene(), {**LIGHT.replacements(theme), **old.replacements(theme)}, theme)
        self._theme_changed(theme)

    def _theme_changed(self, theme: Theme) -> None:
        """Hook: recolour what the generic pass does not know (data drawn in a frame colour)."""

    # ------------------------------------------------------------ context

    def set_context(self, network, analysis, dataset_info: DatasetInfo | None) -> None:
        """A new network or dataset: items are rebuilt on the next snapshot."""
        self.network, self.analysis, self.info = network, analysis, dataset_info
        self._arch_key = None
        self.snapshot = None
        self._selected = 0
        self._context_changed()

    def _context_changed(self) -> None:
        """Hook: forget per-run state (curves, histories)."""

    def node_name(self, node_id: str) -> str:
        if self.network is not None and node_id in self.network.nodes:
            return self.network.nodes[node_id].name
        return node_id[:8]

    def node_type(self, node_id: str) -> str | None:
        if self.network is not None and node_id in self.network.nodes:
            return self.network.nodes[node_id].type
        return None

    def node_param(self, node_id: str, name: str, default=None):
        if self.network is not None and node_id in self.network.nodes:
            return self.network.nodes[node_id].params.get(name, default)
        return default

    def ordered(self, ids) -> list[str]:
        """``ids`` in the network's topological order (unknown ids last, as given)."""
        ids = list(ids)
        order = list(self.analysis.order) if self.analysis is not None else []
        rank = {nid: i for i, nid in enumerate(order)}
        return sorted(ids, key=lambda n: rank.get(n, len(order) + ids.index(n)))

    def class_name(self, k: int) -> str:
        if self.info is not None and 0 <= k < len(self.info.class_names):
            return str(self.info.class_names[k])
        return str(k)

    # ------------------------------------------------------------ snapshots

    def show_snapshot(self, snapshot) -> None:
        """Show ``snapshot``; items are only rebuilt when the architecture's shapes change."""
        if snapshot is None:
            return
        key = self._architecture_key(snapshot)
        if key != self._arch_key:
            self._hover.clear()
            self.layout_.clear()
            self._rebuild(snapshot)
            self.rebuilds += 1
            if self.theme != LIGHT:
                self.apply_theme(self.theme, rebuilt=True)
            self._arch_key = self._architecture_key(snapshot)  # rebuilding may pick a default (a layer)
        self.snapshot = snapshot
        n = len(snapshot.probe_y)
        if n and self._selected >= n:
            self._selected = 0
        self._update(snapshot)

    def _architecture_key(self, snapshot) -> Any:
        return (
            id(self.network),
            tuple((k, v.shape) for k, v in snapshot.activations.items()),
            tuple((k, tuple((n, a.shape) for n, a in p.items())) for k, p in snapshot.params.items()),
            len(snapshot.probe_y),
        )

    def _rebuild(self, snapshot) -> None:
        """Create the pyqtgraph items for this architecture."""

    def _update(self, snapshot) -> None:
        """Feed the items with the snapshot's arrays (setImage / setData only)."""

    def add_metrics(self, message) -> None:
        """A Progress or EpochEnd message; panels that plot metrics override this."""

    def clear(self) -> None:
        """Forget everything shown (a new training run)."""
        self._arch_key = None
        self.snapshot = None
        self._hover.clear()
        self.layout_.clear()
        self._context_changed()

    # ------------------------------------------------------------ the selected sample

    @property
    def selected_sample(self) -> int:
        return self._selected

    @selected_sample.setter
    def selected_sample(self, index: int) -> None:
        self.set_selected_sample(index)

    def set_selected_sample(self, index: int) -> None:
        """Select probe sample ``index``; emits ``sample_selected`` when it changes."""
        index = int(index)
        if self.snapshot is not None and len(self.snapshot.probe_y):
            index = max(0, min(index, len(self.snapshot.probe_y) - 1))
        if index == self._selected:
            return
        self._selected = index
        if self.snapshot is not None:
            self._update(self.snapshot)
        self.sample_selected.emit(index)

    # ------------------------------------------------------------ hover

    def add_hover(self, item: pg.ImageItem, describe: HoverFn) -> None:
        """Show ``describe(row, col)`` in the readout while the mouse is over ``item``."""
        self._hover.append((item, describe))

    def _on_scene_mouse_moved(self, pos: QPointF) -> None:
        text = self.hover_text(pos)
        if text is not None:
            self.readout.setText(text)

    def hover_text(self, scene_pos: QPointF) -> str | None:
        for item, describe in self._hover:
            if not item.isVisible() or item.image is None:
                continue
            p = item.mapFromScene(scene_pos)
            row, col = int(math.floor(p.y())), int(math.floor(p.x()))
            h, w = item.image.shape[:2]
            if 0 <= row < h and 0 <= col < w and item.sceneBoundingRect().contains(scene_pos):
                return describe(row, col)
        return self._hover_fallback(scene_pos)

    def _hover_fallback(self, scene_pos: QPointF) -> str | None:
        return None

    # ------------------------------------------------------------ export

    def export(self, path) -> Path:
        """Write the panel to ``path``: .svg through pyqtgraph's SVG exporter, else a PNG."""
        import pyqtgraph.exporters as exporters

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        scene = self.graphics.scene()
        if path.suffix.lower() == ".svg":
            try:
                exporters.SVGExporter(scene).export(str(path))
            except Exception:  # pyqtgraph's SVG writer fails on some paths; Qt's own SVG painter does not
                self._export_svg_qt(path)
            return path
        # The view as drawn: pyqtgraph's ImageExporter re-lays out aspect-locked views at the
        # export size, which takes tens of seconds with a few image views; a grab does not.
        pixmap = self.graphics.grab()
        if pixmap.isNull() or pixmap.width() < 2:
            exporter = exporters.ImageExporter(scene)
            exporter.parameters()["background"] = QColor(self.theme.background)
            exporter.export(str(path))
        elif not pixmap.save(str(path)):
            raise OSError(f"could not write {path}")
        if not path.exists() or path.stat().st_size == 0:
            raise OSError(f"could not write {path}")
        return path

    def _export_svg_qt(self, path: Path) -> None:
        from PySide6.QtCore import QRectF, QSize
        from PySide6.QtGui import QPainter
        from PySide6.QtSvg import QSvgGenerator

        scene = self.graphics.scene()
        rect = scene.sceneRect()
        gen = QSvgGenerator()
        gen.setFileName(str(path))
        gen.setSize(QSize(int(rect.width()), int(rect.height())))
        gen.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
        gen.setTitle(self.description.title)
        painter = QPainter(gen)
        try:
            painter.fillRect(QRectF(0, 0, rect.width(), rect.height()), QColor(self.theme.background))
            scene.render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
        finally:
            painter.end()


def link_samples(panels) -> None:
    """Selecting a sample in any of ``panels`` selects it in all of them."""
    panels = list(panels)
    for p in panels:
        for q in panels:
            if p is not q:
                p.sample_selected.connect(q.set_selected_sample)
