"""How layer types look in the palette and on the canvas: colours, icons and card texts.

Colours are one hue per category, mixed with the widget palette's own base and text
colours at paint time, so the same diagram reads well in light and dark themes.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from ...core.graph import Node
from ...core.layers import LAYER_TYPES, LayerType
from ...core.presets import resource_dir

CATEGORY_COLORS = {
    "Data": "#5c7080",
    "Layers": "#2f7ed8",
    "Pooling": "#0f9488",
    "Structure": "#d08a0a",
    "Regularisation": "#8e4ec6",
    "Merge": "#3f9b46",
}
ERROR_COLOR = QColor("#e03131")
_FALLBACK = "#7a7a7a"


def category_color(category: str) -> QColor:
    return QColor(CATEGORY_COLORS.get(category, _FALLBACK))


def mix(a: QColor, b: QColor, t: float) -> QColor:
    """``a`` moved a fraction ``t`` of the way towards ``b``."""
    return QColor.fromRgbF(
        a.redF() + (b.redF() - a.redF()) * t,
        a.greenF() + (b.greenF() - a.greenF()) * t,
        a.blueF() + (b.blueF() - a.blueF()) * t,
        a.alphaF() + (b.alphaF() - a.alphaF()) * t,
    )


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightnessF() < 0.5


# ---------------------------------------------------------------- icons


def icons_dir() -> Path:
    """resources/icons, installed or in a source checkout."""
    return resource_dir("icons")


@cache
def _svg_source(icon: str) -> str:
    path = icons_dir() / f"{icon}.svg"
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def icon_pixmap(icon: str, color: QColor, size: int, ratio: float = 2.0) -> QPixmap:
    """The icon drawn in ``color`` (the files use currentColor) at ``size`` logical pixels."""
    pixmap = QPixmap(int(size * ratio), int(size * ratio))
    pixmap.fill(Qt.GlobalColor.transparent)
    source = _svg_source(icon)
    if source:
        svg = source.replace("currentColor", color.name())
        renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
        painter = QPainter(pixmap)
        renderer.render(painter, QRectF(0, 0, pixmap.width(), pixmap.height()))
        painter.end()
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


def layer_icon(layer: LayerType, palette: QPalette | None = None, size: int = 20) -> QIcon:
    """The type's icon in its category colour, a little lighter on dark palettes."""
    color = category_color(layer.category)
    if palette is not None and is_dark(palette):
        color = mix(color, QColor("white"), 0.3)
    return QIcon(icon_pixmap(layer.icon, color, size))


# ---------------------------------------------------------------- card texts


def key_params(node: Node) -> str:
    """The few parameter values worth reading on the card, e.g. ``128 · sigmoid`` (the type says which)."""
    return node.layer.card_text(node.params)


def params_text(layer: LayerType, count: int | None) -> str:
    """``1,290 params``; empty for layers that never have weights."""
    if not layer.has_weights:
        return ""
    if count is None:
        return "? params"
    return f"{count:,} param" + ("" if count == 1 else "s")


def categories() -> list[tuple[str, list[LayerType]]]:
    """Registered layer types grouped by category, in registry order."""
    groups: dict[str, list[LayerType]] = {}
    for layer in LAYER_TYPES.values():
        groups.setdefault(layer.category, []).append(layer)
    return list(groups.items())
