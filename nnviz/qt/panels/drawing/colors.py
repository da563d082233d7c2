"""The panels' colours: TensorFlow Playground's orange and blue for data, ink for text, colour maps.

Data keeps these colours whatever the palette; what frames the data (text, axes, legend
boxes) follows the palette through :mod:`.theme`.
"""

from __future__ import annotations

import pyqtgraph as pg

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
