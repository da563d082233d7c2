"""Every node's output: for the selected sample (bars or feature maps) and across the probe batch (histogram)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from ...core.layers import Role
from .description import PanelDescription
from .drawing.colors import BLUE, INK, MUTED, ORANGE, diverging_cmap, gray_cmap, sequential_cmap
from .drawing.mosaic import Mosaic
from .drawing.plots import add_label, fmt, image_view, style_plot
from .drawing.scales import SteadyRange, SymmetricLevels
from .panel import Panel

MAX_BARS = 128  # longer vectors are drawn as a grid of cells instead of bars
BINS = 40
ROW_HEIGHT = 170
_RELU_LIKE = ("relu", "leaky_relu", "elu", "gelu", "swish", "selu", "softplus")


class _NodeRow:
    """The items of one node: its values for one sample, and their histogram over the probe batch."""

    def __init__(self, panel: ActivationsPanel, nid: str, act: np.ndarray, row: int) -> None:
        self.nid = nid
        lay = panel.layout_
        self.shape = act.shape[1:]
        self.function = panel.activation_function(nid)
        self.title = add_label(
            lay,
            f"<b>{panel.node_name(nid)}</b> <span style='color:{MUTED}'>{panel.node_type(nid) or ''}, "
            f"{'×'.join(map(str, act.shape[1:]))}"
            + (f", {self.function}" if self.function else "")
            + "</span>",
            row=row,
            col=0,
            colspan=2,
            color=INK,
            size="10pt",
            justify="left",
        )
        self.bars = self.image = self.mosaic = None
        self.levels = SymmetricLevels(quantile=None if len(act.shape) == 2 else 0.995)
        nonneg = bool(np.nanmin(act) >= 0)
        self.nonneg = nonneg
        is_input = panel.network is not None and panel.network.role_of(nid) is Role.INPUT
        self.is_input = is_input
        if len(self.shape) == 1 and self.shape[0] <= MAX_BARS:
            self.plot = pg.PlotItem()
            style_plot(self.plot, None, "unit", None)
            self.plot.setMenuEnabled(False)
            self.plot.setMouseEnabled(False, False)
            n = self.shape[0]
            self.x = np.arange(n, dtype=float)
            self.bars = pg.BarGraphItem(
                x=self.x, height=np.zeros(n), width=0.8, brush=pg.mkBrush(BLUE), pen=pg.mkPen(None)
            )
            self.signs = "+"  # bars of one sign are drawn in one call, mixed ones bar by bar
            self.plot.addItem(self.bars)
            self.plot.setXRange(-0.6, n - 0.4, padding=0)
            if n <= 24:  # one tick per unit, never fractional units
                self.plot.getAxis("bottom").setTickSpacing(1 if n <= 12 else 2, 1)
            self.plot.addLine(y=0, pen=pg.mkPen(MUTED))
            self.bars_range = SteadyRange(self.plot, "y", pad=0.05, shrink=0.6, floor=0.0 if nonneg else None)
            lay.addItem(self.plot, row=row + 1, col=0)
        else:
            if len(self.shape) == 1:  # a long vector: cells in a near-square grid, row by row
                n = self.shape[0]
                cols = int(math.ceil(math.sqrt(n)))
                self.grid = (int(math.ceil(n / cols)), cols)
                self.mosaic = Mosaic(1, *self.grid)
                self.cells = np.full(self.grid[0] * self.grid[1], np.nan, np.float32)
            else:
                h, w, c = self.shape
                self.mosaic = Mosaic(c, h, w)
            self.view, self.image = image_view(lay, row=row + 1, col=0)
            cmap = (
                gray_cmap()
                if is_input and self.shape[-1] in (1,) and len(self.shape) == 3
                else (sequential_cmap() if nonneg else diverging_cmap())
            )
            self.image.setColorMap(cmap)
            panel.add_hover(self.image, self.describe_cell)
        self.hist_plot = pg.PlotItem()
        style_plot(self.hist_plot, None, "value (all probe samples)", "share")
        self.hist_plot.setMenuEnabled(False)
        self.hist_plot.setMouseEnabled(False, False)
        self.hist_plot.getAxis("left").setWidth(48)
        self.hist = pg.PlotDataItem(
            stepMode="center", fillLevel=0, brush=pg.mkBrush(*BLUE, 120), pen=pg.mkPen(BLUE, width=1.5)
        )
        self.hist_plot.addItem(self.hist)
        self.stats = pg.TextItem(color=ORANGE, anchor=(1, 0))
        self.hist_plot.addItem(self.stats, ignoreBounds=True)
        # Axes that move only when the histogram leaves them or shrinks well inside: a range
        # change redraws the axes and the plot, and the bins move a little every frame.
        self.hist_x = SteadyRange(self.hist_plot, "x", pad=0.02, shrink=0.7)
        self.hist_y = SteadyRange(self.hist_plot, "y", pad=0.05, grow=0.15, shrink=0.6, floor=0.0)
        self.note = None
        lay.addItem(self.hist_plot, row=row + 1, col=1)
        self.panel = panel
        self.values: np.ndarray | None = None
        self.brushes = (pg.mkBrush(BLUE), pg.mkBrush(ORANGE))  # by sign: made once, not per frame

    def update(self, act: np.ndarray, sample: int, name: str, type_: str) -> None:
        v = act[sample]
        self.values = v
        fixed = self.is_input and len(self.shape) == 3  # pixels: levels 0..1
        level = 1.0 if fixed else self.levels.update(act)[1]
        if self.bars is not None:
            negative = v < 0
            signs = "-" if negative.all() else "+-" if negative.any() else "+"
            if signs == "+-":
                self.bars.setOpts(height=v, brushes=[self.brushes[x] for x in negative.tolist()])
            elif signs != self.signs:  # all one sign: one brush, and pyqtgraph draws every bar in one call
                self.bars.setOpts(height=v, brush=self.brushes[signs == "-"], brushes=None)
            else:
                self.bars.setOpts(height=v)
            self.signs = signs
            self.bars_range.fit(0.0 if self.nonneg else -level, level)
        else:
            levels = (0.0, level) if self.nonneg else (-level, level)
            if len(self.shape) == 1:
                self.cells[: v.size] = v
                img = self.mosaic.compose(self.cells.reshape(1, *self.grid))
            else:
                img = self.mosaic.compose(np.moveaxis(v, -1, 0))
            if fixed:
                levels = (0.0, 1.0)
            self.image.setImage(img, levels=levels, autoLevels=False)
        counts, edges = histogram(act)
        self.hist.setData(edges, counts)
        self.counts, self.edges = counts, edges
        note = health(act, self.function)
        if note != self.note:  # new text is laid out again: only when it changes
            self.note = note
            self.stats.setText(note)
        moved = self.hist_x.fit(float(edges[0]), float(edges[-1]))
        moved = self.hist_y.fit(0.0, float(max(1e-3, counts.max()))) or moved
        if moved:  # the note sits in the top right corner
            self.stats.setPos(self.hist_x.range[1], self.hist_y.range[1])

    def describe_cell(self, r, c):
        hit = self.mosaic.locate(r, c)
        if hit is None or self.values is None:
            return None
        i, y, x = hit
        if len(self.shape) == 1:
            j = y * self.grid[1] + x
            if j >= self.shape[0]:
                return None
            return f"{self.panel.node_name(self.nid)} unit {j}: {fmt(float(self.values[j]))}"
        return (
            f"{self.panel.node_name(self.nid)} channel {i} at (row {y}, col {x}): "
            f"{fmt(float(self.values[y, x, i]))}"
        )


def histogram(act: np.ndarray, bins: int = BINS) -> tuple[np.ndarray, np.ndarray]:
    """Fractions of all values of the probe batch per bin, on a range that always includes 0.

    When many values are exactly 0 (ReLU, blank image borders) they are left out, or their
    one bar would flatten the rest; the readout gives their share instead.
    """
    v = act[np.isfinite(act)].ravel()
    total = max(v.size, 1)
    if np.mean(v == 0) > 0.1:
        v = v[v != 0]
    if v.size == 0:
        return np.zeros(bins), np.linspace(-1, 1, bins + 1)
    lo, hi = min(float(v.min()), 0.0), max(float(v.max()), 0.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    return counts / total, edges


def health(act: np.ndarray, function: str | None) -> str:
    """Dead ReLUs or saturated sigmoid/tanh units, the two ways a layer stops learning."""
    if function is None or act.ndim < 2:
        zero = float(np.mean(act == 0)) if act.size else 0.0
        return f"zeros {zero:.0%} (not drawn)" if zero > 0.1 else ""
    if function in ("relu",):
        units = act.reshape(act.shape[0], -1) if act.ndim == 2 else act.reshape(-1, act.shape[-1])
        dead = float(np.mean(np.all(units <= 0, axis=0)))
        zero = float(np.mean(act <= 0))
        return f"dead units {dead:.0%} · zeros {zero:.0%} (not drawn)"
    if function == "sigmoid":
        return f"saturated {float(np.mean((act < 0.02) | (act > 0.98))):.0%}"
    if function == "tanh":
        return f"saturated {float(np.mean(np.abs(act) > 0.96)):.0%}"
    return ""


class ActivationsPanel(Panel):
    """For every node: its output for the selected sample and a histogram across the probe batch."""

    description = PanelDescription("activations", "Activations", "What every layer outputs, and its spread")
    scrolls = True

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: dict[str, _NodeRow] = {}

    def activation_function(self, nid: str) -> str | None:
        return self.network.activation_of(nid) if self.network is not None else None

    def _rebuild(self, snapshot) -> None:
        self.rows = {}
        net = self.network
        ids = [
            n for n in self.ordered(snapshot.activations) if net is None or net.role_of(n) is not Role.OUTPUT
        ]
        self.layout_.layout.setColumnStretchFactor(0, 3)
        self.layout_.layout.setColumnStretchFactor(1, 2)
        for i, nid in enumerate(ids):
            self.rows[nid] = _NodeRow(self, nid, snapshot.activations[nid], 2 * i)
        self.graphics.setMinimumHeight(len(ids) * ROW_HEIGHT)

    def _update(self, snapshot) -> None:
        s = self.selected_sample
        for nid, row in self.rows.items():
            row.update(snapshot.activations[nid], s, self.node_name(nid), self.node_type(nid) or "")
