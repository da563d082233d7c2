"""What every visualisation panel shares: context, snapshots, the selected sample, hover, export.

A panel builds its pyqtgraph items once per architecture (``_rebuild``) and afterwards
only feeds them new arrays (``_update``), so that the GUI keeps up with training.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPalette, QPixmapCache
from PySide6.QtWidgets import (
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from .description import PanelDescription

# TensorFlow Playground's colours: orange for negative / class 0, blue for positive / class 1.
ORANGE = (245, 147, 34)
BLUE = (8, 119, 189)
NEUTRAL = (236, 238, 240)
INK = "#222831"
MUTED = "#6b7280"
BACKGROUND = "#ffffff"
CLASS_COLORS = [
    ORANGE,
    BLUE,
    (46, 160, 67),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
]
TITLE_SIZE = "11pt"


@dataclass(frozen=True)
class Theme:
    """The colours of a panel's frame (background, text, axes, legend boxes), taken from a QPalette.

    Data keeps TensorFlow Playground's orange and blue whatever the palette; only what
    frames the data follows it. Items are built in :data:`LIGHT`'s colours and recoloured
    by :meth:`Panel.apply_theme`, so panels written for the light look need no changes.
    """

    background: str
    ink: str  # titles, labels, tick numbers
    muted: str  # axis lines, secondary labels
    legend: tuple[int, int, int, int]  # legend box fill
    legend_edge: tuple[int, int, int]
    dark: bool = False

    @classmethod
    def from_palette(cls, palette: QPalette) -> Theme:
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text)
        if base.lightness() >= 128:  # light: the tuned light colours on the palette's base
            return (
                LIGHT
                if base.name() == LIGHT.background
                else cls(base.name(), INK, MUTED, LIGHT.legend, LIGHT.legend_edge)
            )
        b, t = base.getRgb()[:3], text.getRgb()[:3]
        mix = tuple(int(round(0.45 * tv + 0.55 * bv)) for tv, bv in zip(t, b))
        edge = tuple(int(round(0.25 * tv + 0.75 * bv)) for tv, bv in zip(t, b))
        return cls(base.name(), text.name(), QColor(*mix).name(), (*b, 190), edge, True)

    def replacements(self, other: Theme) -> dict[str, str]:
        """Colour names of text and lines in this theme -> the same role's colour in ``other``.

        Not the background: white outlines that set points off a heatmap stay white.
        """
        return {self.ink: other.ink, self.muted: other.muted}


LIGHT = Theme(BACKGROUND, INK, MUTED, (255, 255, 255, 170), (210, 210, 210))


def diverging_cmap() -> pg.ColorMap:
    """Orange (negative) - pale grey (zero) - blue (positive), for weights and signed values."""
    return pg.ColorMap([0.0, 0.5, 1.0], [ORANGE, NEUTRAL, BLUE])


def sequential_cmap() -> pg.ColorMap:
    """Pale grey to blue, for values that are never negative (ReLU feature maps)."""
    return pg.ColorMap([0.0, 0.35, 1.0], [NEUTRAL, (66, 146, 198), (8, 29, 88)])


def gray_cmap() -> pg.ColorMap:
    """Black to white, for input images."""
    return pg.ColorMap([0.0, 1.0], [(0, 0, 0), (255, 255, 255)])


def class_color(k: int) -> tuple[int, int, int]:
    return CLASS_COLORS[k % len(CLASS_COLORS)]


@dataclass(frozen=True)
class DatasetInfo:
    """What panels need to know about the dataset: class names, sample shape, kind, and points to plot."""

    class_names: tuple[str, ...]
    input_shape: tuple[int, ...]
    kind: str = "table"  # toy2d, image or table, as nnviz.core.datasets.Dataset.kind
    x_train: np.ndarray | None = None  # 2D datasets: the points to scatter (at most a few thousand)
    y_train: np.ndarray | None = None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None

    @property
    def is_2d(self) -> bool:
        return tuple(self.input_shape) == (2,)

    @property
    def is_image(self) -> bool:
        return len(self.input_shape) == 3

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @classmethod
    def from_dataset(cls, ds: Any, max_points: int = 2000) -> DatasetInfo:
        """From a loaded ``nnviz.core.datasets.Dataset``; points only for 2D data."""
        shape = tuple(ds.input_shape)
        pts = {}
        if shape == (2,):
            pts = dict(
                x_train=np.asarray(ds.x_train[:max_points]),
                y_train=np.asarray(ds.y_train[:max_points]),
                x_test=np.asarray(ds.x_test[:max_points]),
                y_test=np.asarray(ds.y_test[:max_points]),
            )
        return cls(tuple(ds.class_names), shape, ds.kind, **pts)


class SymmetricLevels:
    """Colour levels (-L, L) that follow the data's largest magnitude, slowly, so colours do not flicker.

    They grow at once when values would saturate badly and shrink gently otherwise.
    """

    def __init__(self, shrink: float = 0.05, grow: float = 0.5, quantile: float | None = None) -> None:
        self.level: float | None = None
        self.shrink, self.grow = shrink, grow
        # Feature maps: a few hot pixels would wash the rest out, so follow a high quantile.
        self.quantile = quantile

    def reset(self) -> None:
        self.level = None

    def update(self, values: np.ndarray) -> tuple[float, float]:
        finite = values[np.isfinite(values)] if values.size else values
        if not finite.size:
            target = 1.0
        elif self.quantile is None:
            target = float(np.max(np.abs(finite)))
        else:
            target = float(np.quantile(np.abs(finite), self.quantile))
        target = max(target, 1e-6)
        if self.level is None:
            self.level = target
        elif target > self.level:
            self.level += self.grow * (target - self.level)
        else:
            self.level += self.shrink * (target - self.level)
        return -self.level, self.level


class Mosaic:
    """Lays out n tiles of h x w in a grid with 1-pixel gaps (NaN, drawn transparent).

    The output buffer is reused between calls, so updating a mosaic allocates nothing.
    """

    def __init__(
        self, n: int, h: int, w: int, cols: int | None = None, pad: int = 1, flip: bool = False
    ) -> None:
        self.n, self.h, self.w, self.pad, self.flip = n, h, w, pad, flip
        if cols is None:
            # Close to square on screen: as many columns as make rows ~ columns in pixels.
            cols = max(1, min(n, int(math.ceil(math.sqrt(n * h / max(w, 1))))))
        self.cols = max(1, min(cols, n))
        self.rows = int(math.ceil(n / self.cols))
        self.shape = (self.rows * (h + pad) - pad, self.cols * (w + pad) - pad)
        self.buffer = np.full(self.shape, np.nan, np.float32)
        self.background: int | tuple[int, ...] = (
            255  # the gaps of a uint8 mosaic (white; a dark theme's paper)
        )

    def set_background(self, value) -> None:
        """The colour of the gaps between uint8 tiles (a grey level, or RGB for colour tiles)."""
        if value != self.background:
            self.background = value
            self.buffer = np.zeros((0, 0))  # made anew, with the new gaps, by the next compose

    def origin(self, i: int) -> tuple[int, int]:
        r, c = divmod(i, self.cols)
        return r * (self.h + self.pad), c * (self.w + self.pad)

    def tile(self, image: np.ndarray, i: int) -> np.ndarray:
        """Tile ``i`` cut back out of a mosaic image (as the caller gave it, unflipped)."""
        y, x = self.origin(i)
        t = image[y : y + self.h, x : x + self.w]
        return t[::-1] if self.flip else t

    def compose(self, tiles: np.ndarray) -> np.ndarray:
        """``tiles`` is (n, h, w) or (n, h, w, channels); returns the mosaic (the shared buffer)."""
        buf = self.buffer
        if (
            buf.shape[:2] != self.shape
            or buf.shape[2:] != tiles.shape[3:]
            or buf.dtype != tiles.dtype
            and tiles.dtype == np.uint8
        ):
            fill = self.background if tiles.dtype == np.uint8 else np.nan
            self.buffer = buf = np.full(
                self.shape + tiles.shape[3:], fill, np.uint8 if tiles.dtype == np.uint8 else np.float32
            )
        for i in range(self.n):
            y, x = self.origin(i)
            buf[y : y + self.h, x : x + self.w] = tiles[i][::-1] if self.flip else tiles[i]
        return buf

    def locate(self, row: int, col: int) -> tuple[int, int, int] | None:
        """(tile index, y, x inside the tile) under a mosaic pixel, or None in a gap."""
        if not (0 <= row < self.shape[0] and 0 <= col < self.shape[1]):
            return None
        r, y = divmod(row, self.h + self.pad)
        c, x = divmod(col, self.w + self.pad)
        i = r * self.cols + c
        if y >= self.h or x >= self.w or i >= self.n:
            return None
        return i, (self.h - 1 - y if self.flip else y), x


PIXMAP_CACHE_KB = 96 * 1024  # item caches of every panel's axes (a grid's covers its whole plot)


def cache_axis(axis: pg.AxisItem) -> None:
    """Keep the axis's drawing as a pixmap: Qt replays it for every repaint of the plot
    behind it, and redraws it only when its range, size or style changes. Replaying the
    axis's QPicture (tick text, grid lines) was most of what a panel's paint cost.

    Item caches live in QPixmapCache, 10 MB by default: too small for the axes of all
    panels at once (an evicted cache is a full redraw), so it is raised here.
    """
    if QPixmapCache.cacheLimit() < PIXMAP_CACHE_KB:
        QPixmapCache.setCacheLimit(PIXMAP_CACHE_KB)
    axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


class ShrinkingLabel(pg.LabelItem):
    """A label that never asks for more width than the panel has.

    pyqtgraph's LabelItem makes its text's width its minimum width, so a long title made
    the whole layout wider than the widget and the views beside or below it were cropped
    (the weights panel's unit images, the network view). The text may now run past its
    cell instead; the panels keep their titles short enough for a normal dock.
    """

    def updateMin(self) -> None:  # noqa: N802 - pyqtgraph's name
        super().updateMin()
        self.setMinimumWidth(0)
        self._sizeHint[Qt.SizeHint.MinimumSize] = (0, self._sizeHint[Qt.SizeHint.MinimumSize][1])


def add_label(
    layout: pg.GraphicsLayout,
    text: str = " ",
    row: int | None = None,
    col: int | None = None,
    rowspan: int = 1,
    colspan: int = 1,
    **kwargs,
) -> ShrinkingLabel:
    """``layout.addLabel`` with a label that cannot widen the panel."""
    label = ShrinkingLabel(text, **kwargs)
    layout.addItem(label, row, col, rowspan, colspan)
    return label


def style_plot(
    plot: pg.PlotItem, title: str | None = None, x: str | None = None, y: str | None = None
) -> None:
    """Dark text on the light panel background, readable on a projector (recoloured to the palette)."""
    font = QFont()
    font.setPointSize(10)
    for name in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(MUTED))
        axis.setTextPen(pg.mkPen(INK))
        # Tick text may widen the axis but not narrow it again: every change of width re-lays
        # out the plot and redraws all of it.
        axis.setStyle(tickFont=font, autoReduceTextSpace=False)
        axis.enableAutoSIPrefix(False)  # "0.001" reads better than "1 (x0.001)" in a classroom
        cache_axis(axis)
    if title:
        plot.setTitle(title, color=INK, size=TITLE_SIZE)
    if x:
        plot.setLabel("bottom", x, color=INK, **{"font-size": "10pt"})
    if y:
        plot.setLabel("left", y, color=INK, **{"font-size": "10pt"})


def integer_ticks(axis: pg.AxisItem, n: int) -> None:
    """Ticks on whole indices only (units, inputs, classes): every one when few, else auto-spaced."""
    if n <= 16:
        axis.setTickSpacing(1, 1)
    elif n <= 40:
        axis.setTickSpacing(5, 1)
    else:
        axis.setTickSpacing()  # automatic


def image_view(
    layout: pg.GraphicsLayout, row: int | None = None, col: int | None = None, invert_y: bool = True, **kw
) -> tuple[pg.ViewBox, pg.ImageItem]:
    """A ViewBox with one row-major ImageItem, square pixels, no mouse panning."""
    vb = layout.addViewBox(row=row, col=col, lockAspect=True, invertY=invert_y, enableMouse=False, **kw)
    vb.setMenuEnabled(False)
    img = pg.ImageItem(axisOrder="row-major")
    vb.addItem(img)
    return vb, img


def colorbar(cmap: pg.ColorMap, images, width: int = 14, label: str | None = None) -> pg.ColorBarItem:
    bar = pg.ColorBarItem(values=(-1, 1), colorMap=cmap, interactive=False, width=width, label=label)
    bar.setImageItem(images)
    for name in ("left", "right", "top", "bottom"):  # "right" has the values, the others frame the bar
        axis = bar.getAxis(name)
        axis.setPen(pg.mkPen(MUTED))
        axis.setTextPen(pg.mkPen(INK))
        cache_axis(axis)
    return bar


class SteadyRange:
    """Keeps one axis of a plot around its data, moving it only when the data leaves the
    range or fills too little of it.

    pyqtgraph's auto-range moves the view with every new point: the axes regenerate
    their ticks, the layout may change, and the whole plot repaints every frame. Here the
    range moves a few times per run. Once the user pans or zooms, the range is theirs
    until they press the plot's "A" button.
    """

    def __init__(
        self,
        plot,
        axis: str,
        pad: float = 0.05,
        shrink: float = 0.5,
        grow: float = 0.0,
        floor: float | None = None,
        min_pad: float = 0.0,
    ) -> None:
        """``pad``: margin on both sides and ``grow``: extra room above, as shares of the data's
        span, and at least ``min_pad`` (view units: decades on a log axis); the range is
        refitted when the data fills less than ``shrink`` of it; ``floor``: never below this
        when the data is not (0 for a loss)."""
        self.vb = plot.getViewBox() if hasattr(plot, "getViewBox") else plot
        self.axis = axis
        self.pad, self.shrink, self.grow, self.floor, self.min_pad = pad, shrink, grow, floor, min_pad
        self.range: tuple[float, float] | None = None
        self.following = True
        self.vb.disableAutoRange(axis="x" if axis == "x" else "y")
        self.vb.sigRangeChangedManually.connect(self._on_view_changed_manually)
        button = getattr(plot, "autoBtn", None)
        if button is not None:  # after the plot's own handler (which turns auto-range on)
            button.clicked.connect(self._on_auto_button_clicked)
        self._last: tuple[float, float] | None = None

    def reset(self) -> None:
        """Forget the range (a new run): the next fit sets it afresh."""
        self.range = self._last = None
        self.following = True

    def fit(self, lo: float, hi: float, force: bool = False) -> bool:
        """Show [lo, hi] (view coordinates); returns whether the view moved."""
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return False
        self._last = (lo, hi)
        if not self.following:
            return False
        if hi - lo < 1e-12:
            lo, hi = lo - 0.5, hi + 0.5
        old = self.range
        if not force and old is not None:
            span = old[1] - old[0]
            if old[0] <= lo and hi <= old[1] and (hi - lo) + 2 * self.min_pad >= self.shrink * span:
                return False
        span = hi - lo
        pad = max(self.pad * span, self.min_pad)
        new = (lo - pad, hi + pad + self.grow * span)
        if self.floor is not None and lo >= self.floor:
            new = (max(new[0], self.floor), new[1])
        self.range = new
        if self.axis == "x":
            self.vb.setXRange(*new, padding=0)
        else:
            self.vb.setYRange(*new, padding=0)
        return True

    def _on_view_changed_manually(self, *_) -> None:
        self.following = False

    def _on_auto_button_clicked(self, *_) -> None:
        self.following = True
        self.vb.disableAutoRange(axis="x" if self.axis == "x" else "y")
        if self._last is not None:
            self.fit(*self._last, force=True)


def fmt(v: float) -> str:
    if not math.isfinite(v):
        return str(v)
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e4):
        return f"{v:.3e}"
    return f"{v:.4f}"


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


def _swap(colour, names: dict[str, str]):
    name = QColor(colour).name() if colour is not None else None
    return names.get(name)


def _swap_pen(pen, names: dict[str, str]):
    if pen is None or not isinstance(pen, pg.QtGui.QPen) or pen.style() == Qt.PenStyle.NoPen:
        return None
    c = pen.color()
    new = names.get(c.name())
    if new is None:
        return None
    pen = pg.QtGui.QPen(pen)
    q = QColor(new)
    q.setAlpha(c.alpha())
    pen.setColor(q)
    return pen


def recolour_scene(scene, names: dict[str, str], theme: Theme) -> None:
    """Give every frame-coloured item in ``scene`` the colour ``names`` maps its colour to."""
    for item in scene.items():
        if isinstance(item, pg.AxisItem):
            pen = _swap_pen(item.pen(), names)
            if pen is not None:
                item.setPen(pen)
            pen = _swap_pen(item.textPen(), names)
            if pen is not None:
                item.setTextPen(pen)
            new = _swap(item.labelStyle.get("color"), names) if "color" in item.labelStyle else None
            if new is not None:
                item.labelStyle["color"] = new
                item._updateLabel()
        elif isinstance(item, pg.LabelItem):
            new = _swap(item.opts.get("color"), names)
            text = item.text
            for a, b in names.items():
                text = text.replace(a, b)
            if new is not None or text != item.text:
                item.setText(text, **({"color": new} if new is not None else {}))
        elif isinstance(item, pg.TextItem):
            new = _swap(item.color, names)
            if new is not None:
                item.setColor(new)
        elif isinstance(item, pg.LegendItem):
            new = _swap(item.opts.get("labelTextColor"), names)
            if new is not None:
                item.setLabelTextColor(new)
            item.setBrush(pg.mkBrush(*theme.legend))
            item.setPen(pg.mkPen(*theme.legend_edge))
        elif isinstance(item, pg.InfiniteLine):
            pen = _swap_pen(item.pen, names)
            if pen is not None:
                item.setPen(pen)
        elif isinstance(item, (pg.ScatterPlotItem, pg.PlotDataItem)):
            pen = _swap_pen(item.opts.get("pen"), names)
            if pen is not None:
                item.setPen(pen)


def link_samples(panels) -> None:
    """Selecting a sample in any of ``panels`` selects it in all of them."""
    panels = list(panels)
    for p in panels:
        for q in panels:
            if p is not q:
                p.sample_selected.connect(q.set_selected_sample)
