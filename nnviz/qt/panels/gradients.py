"""Gradient norms per weighted layer over training, on a log scale, so vanishing gradients are visible."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from .curves import _Series
from .description import PanelDescription
from .drawing.colors import INK, MUTED
from .drawing.plots import fmt, style_plot
from .drawing.scales import SteadyRange
from .drawing.theme import Theme
from .panel import Panel


def depth_colors(n: int, dark: bool = False) -> list[tuple[int, int, int]]:
    """First layer to last: a perceptually ordered ramp, so depth reads as colour.

    On a dark background the ramp starts higher: viridis's dark purple would vanish.
    """
    cmap = pg.colormap.get("viridis")
    lo, hi = (0.3, 1.0) if dark else (0.0, 0.9)
    return [
        tuple(int(v) for v in cmap.map(lo + (hi - lo) * i / max(n - 1, 1), mode="byte")[:3]) for i in range(n)
    ]


class GradientsPanel(Panel):
    """One line per weighted layer: the L2 norm of its gradient at each snapshot (log y), and the latest by depth."""

    description = PanelDescription(
        "gradients", "Gradients", "How large each layer's gradient is", accumulates=True
    )

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.layers: list[str] = []
        self.series: dict[str, _Series] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.last_step = -1

    def _context_changed(self) -> None:
        self.series = {}
        self.last_step = -1

    def _architecture_key(self, snapshot):
        return (id(self.network), tuple(snapshot.params))

    def _rebuild(self, snapshot) -> None:
        self.layers = self.ordered(snapshot.params)
        self.series = {nid: self.series.get(nid, _Series()) for nid in self.layers}
        self.plot = pg.PlotItem()
        style_plot(self.plot, "Gradient norm per layer", "training step", "‖∂loss/∂weights‖ (log)")
        self.plot.setLogMode(y=True)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.addLegend(
            offset=(-10, 10),
            labelTextColor=INK,
            brush=pg.mkBrush(255, 255, 255, 210),
            pen=pg.mkPen(200, 200, 200),
        )
        colors = depth_colors(len(self.layers))
        self.curves = {}
        for nid, color in zip(self.layers, colors):
            c = self.plot.plot(pen=pg.mkPen(color, width=2), name=f"{self.node_name(nid)}")
            c.setDownsampling(auto=True, method="peak")
            c.setClipToView(True)
            self.curves[nid] = c
        self.layout_.addItem(self.plot, row=0, col=0)
        # steady axes: they move when the lines outgrow them, not every frame (log10 units for y)
        self.x_range = SteadyRange(self.plot, "x", pad=0.0, shrink=0.0, grow=0.5, floor=0.0)
        self.y_range = SteadyRange(self.plot, "y", pad=0.15, shrink=0.5, min_pad=0.25)
        self.depth_title = None
        self.depth_plot = pg.PlotItem()
        style_plot(self.depth_plot, "Latest, by depth", "layer (input → output)", None)
        self.depth_plot.setLogMode(y=True)
        self.depth_plot.showGrid(y=True, alpha=0.15)
        self.depth_plot.setMouseEnabled(False, False)
        self.depth_plot.setMenuEnabled(False)
        # names fit under a few layers; deeper nets get their depth (the legend has the names)
        ticks = [
            (i, self.node_name(nid) if len(self.layers) <= 4 else str(i + 1))
            for i, nid in enumerate(self.layers)
        ]
        bottom = self.depth_plot.getAxis("bottom")
        bottom.setTicks([ticks])
        bottom.setStyle(hideOverlappingLabels=False)
        self.depth_plot.setXRange(-0.5, max(len(self.layers), 1) - 0.5, padding=0)
        self.depth_plot.enableAutoRange(x=False)
        self.depth_curve = self.depth_plot.plot(
            pen=pg.mkPen(MUTED, width=1.5),
            symbol="o",
            symbolSize=10,
            symbolBrush=[pg.mkBrush(c) for c in colors],
            symbolPen=pg.mkPen("w"),
        )
        self.depth_range = SteadyRange(self.depth_plot, "y", pad=0.2, shrink=0.4, min_pad=0.3)
        # The first/last ratio changes every frame: in the view's corner, where new text does not
        # re-lay out the plots (in the title it moved the columns by a few pixels each frame).
        self.depth_note = pg.TextItem(color=INK, anchor=(0, 0))
        self.depth_note.setParentItem(self.depth_plot.getViewBox())
        self.depth_note.setPos(2, 0)
        self.layout_.addItem(self.depth_plot, row=0, col=1)
        self.layout_.layout.setColumnStretchFactor(0, 3)
        self.layout_.layout.setColumnStretchFactor(1, 1)
        if not self.layers:
            self.plot.setTitle("This network has no weights, so no gradients", color=INK)
        for nid in self.layers:
            s = self.series[nid]
            self.curves[nid].setData(s.xs, s.ys)
        self._fit_ranges()

    def _fit_ranges(self) -> None:
        shown = [s for s in self.series.values() if s.n]
        if not shown:
            return
        self.x_range.fit(0.0, max(float(s.x[s.n - 1]) for s in shown))
        lo = min(s.lo_positive for s in shown)
        hi = max(s.hi for s in shown)
        if 0 < lo <= hi < math.inf:
            self.y_range.fit(math.log10(lo), math.log10(hi))

    def _update(self, snapshot) -> None:
        norms = snapshot.grad_norms
        if not norms or snapshot.step <= self.last_step:
            return  # before the first step there is no gradient; repeated snapshots add nothing
        self.last_step = snapshot.step
        latest = []
        for nid in self.layers:
            g = norms.get(nid, math.nan)
            s = self.series[nid]
            # log scale: a zero gradient is drawn as a gap, not as -inf
            s.append(snapshot.step, g if g > 0 else math.nan)
            self.curves[nid].setData(s.xs, s.ys, connect="finite")
            latest.append(g if g > 0 else math.nan)
        y = np.array(latest, float)
        self.depth_curve.setData(np.arange(len(y), dtype=float), y, connect="finite")
        self._fit_ranges()
        finite = y[np.isfinite(y) & (y > 0)]
        if finite.size:
            self.depth_range.fit(math.log10(finite.min()), math.log10(finite.max()))
        if len(y) >= 2 and np.isfinite(y[0]) and np.isfinite(y[-1]) and y[-1] > 0:
            # first / last layer: far below 1 when the gradient vanishes on its way back
            ratio = y[0] / y[-1]
            text = f"first/last {ratio:.2g}×"
            if text != self.depth_title:
                self.depth_title = text
                self.depth_note.setColor("#c2410c" if ratio < 0.01 else self.theme.ink)
                self.depth_note.setText(text)

    def _theme_changed(self, theme: Theme) -> None:
        if not self.curves:
            return
        colors = depth_colors(len(self.layers), theme.dark)
        for nid, color in zip(self.layers, colors):
            self.curves[nid].setPen(pg.mkPen(color, width=2))
        # per-point brushes: setSymbolBrush takes one brush only (a list crashed Qt)
        self.depth_curve.opts["symbolBrush"] = [pg.mkBrush(c) for c in colors]
        self.depth_curve.updateItems(styleUpdate=True)

    def _hover_fallback(self, scene_pos):
        if not self.layers or not self.plot.sceneBoundingRect().contains(scene_pos):
            return None
        x = self.plot.getViewBox().mapSceneToView(scene_pos).x()
        s0 = self.series[self.layers[0]]
        if not s0.n:
            return None
        i = int(np.clip(np.searchsorted(s0.xs, x), 0, s0.n - 1))
        return f"step {int(s0.xs[i])}: " + ", ".join(
            f"{self.node_name(n)} {fmt(float(self.series[n].ys[i]))}" for n in self.layers
        )
