"""Plot styling: readable axes and titles, cached axis drawings, labels that never widen a panel,
image views, colour bars, integer ticks and the numbers of readouts."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QPixmapCache
from PySide6.QtWidgets import QGraphicsItem

from .colors import INK, MUTED

TITLE_SIZE = "11pt"
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


def fmt(v: float) -> str:
    if not math.isfinite(v):
        return str(v)
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e4):
        return f"{v:.3e}"
    return f"{v:.4f}"
