"""Light and dark panel themes, taken from the window's palette, and recolouring a scene to one."""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette

from .colors import BACKGROUND, INK, MUTED


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
