"""2D datasets: the decision boundary over the input plane, the data points, and every hidden neuron's output."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from ...core.layers import Role
from .description import PanelDescription, has_2d_input
from .drawing.colors import BLUE, INK, MUTED, NEUTRAL, ORANGE, class_color, diverging_cmap
from .drawing.mosaic import Mosaic
from .drawing.plots import add_label, colorbar, fmt, image_view, style_plot
from .drawing.scales import SymmetricLevels
from .panel import Panel

THUMB_ROWS = 8  # neurons per column of thumbnails


def boundary_cmap() -> pg.ColorMap:
    """P(class 1) from 0 (orange) through 0.5 (pale) to 1 (blue), as in TensorFlow Playground."""
    return pg.ColorMap([0.0, 0.5, 1.0], [ORANGE, NEUTRAL, BLUE])


class DecisionBoundaryPanel(Panel):
    """The network's class probabilities over the input plane, the train and test points, and neuron thumbnails."""

    description = PanelDescription(
        "decision",
        "Decision boundary",
        "What the network decides over the input plane (2D datasets)",
        applies=has_2d_input,
        leads=3,
    )

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.hidden: list[str] = []
        self.thumbs: dict[str, tuple[Mosaic, pg.ImageItem]] = {}
        self.heat = None

    def _architecture_key(self, snapshot):
        plane = snapshot.plane
        if plane is None:
            return (id(self.network), id(self.info), None)
        return (
            id(self.network),
            id(self.info),
            plane.probabilities.shape,
            tuple((k, v.shape) for k, v in plane.nodes.items()),
        )

    def _rebuild(self, snapshot) -> None:
        lay = self.layout_
        plane = snapshot.plane
        self.heat = None
        self.thumbs = {}
        if plane is None:
            add_label(
                lay,
                "The decision boundary is drawn for datasets with two input features.",
                color=INK,
                size="12pt",
            )
            return
        self.plot = pg.PlotItem()
        k = plane.probabilities.shape[-1]
        style_plot(
            self.plot,
            "Decision boundary: P(" + self.class_name(1) + ")"
            if k == 2
            else "Decision regions (colour: most likely class)",
            "x₁",
            "x₂",
        )
        self.plot.setAspectLocked(True)
        self.plot.setMenuEnabled(False)
        self.heat = pg.ImageItem(axisOrder="row-major")
        if k == 2:
            self.heat.setColorMap(boundary_cmap())
        xs, ys = plane.xs, plane.ys
        dx = (xs[-1] - xs[0]) / max(len(xs) - 1, 1)
        dy = (ys[-1] - ys[0]) / max(len(ys) - 1, 1)
        self.heat_rect = QRectF(xs[0] - dx / 2, ys[0] - dy / 2, dx * len(xs), dy * len(ys))
        self.heat.setImage(np.zeros(plane.probabilities.shape[:2], np.float32), levels=(0.0, 1.0))
        self.heat.setRect(self.heat_rect)  # after an image, or the scale is computed from no size
        self.plot.addItem(self.heat)
        self.plot.setRange(self.heat_rect, padding=0)
        self.add_hover(self.heat, self._describe_plane)
        info = self.info
        # Small points, so the boundary they sit on stays visible (TensorFlow Playground's habit).
        self.train_points = pg.ScatterPlotItem(size=5, pen=pg.mkPen(255, 255, 255, 200, width=0.8))
        self.test_points = pg.ScatterPlotItem(size=6, pen=pg.mkPen(INK, width=1.1))
        self.selected_marker = pg.ScatterPlotItem(
            size=20, brush=pg.mkBrush(None), pen=pg.mkPen(INK, width=2.5), symbol="o"
        )
        for item in (self.train_points, self.test_points, self.selected_marker):
            self.plot.addItem(item)
        if info is not None and info.x_train is not None:
            for item, x, y in (
                (self.train_points, info.x_train, info.y_train),
                (self.test_points, info.x_test, info.y_test),
            ):
                brushes = [pg.mkBrush(*class_color(int(c))) for c in y]
                item.setData(x[:, 0], x[:, 1], brush=brushes)
        legend = self.plot.addLegend(
            offset=(6, 6),
            labelTextColor=INK,
            labelTextSize="8pt",
            verSpacing=-6,
            brush=pg.mkBrush(255, 255, 255, 170),
            pen=pg.mkPen(210, 210, 210),
        )
        legend.addItem(pg.ScatterPlotItem(size=5, pen=pg.mkPen("w"), brush=pg.mkBrush(MUTED)), "train")
        legend.addItem(
            pg.ScatterPlotItem(size=6, pen=pg.mkPen(INK, width=1.1), brush=pg.mkBrush(MUTED)), "test"
        )
        legend.addItem(self.selected_marker, "selected")
        lay.addItem(self.plot, row=0, col=0, rowspan=2)
        if k == 2:
            bar = colorbar(boundary_cmap(), self.heat, label=f"P({self.class_name(1)})")
            bar.setLevels((0.0, 1.0))
            lay.addItem(bar, row=0, col=1, rowspan=2)

        # Neuron thumbnails, as in TensorFlow Playground: one column per hidden layer, its
        # neurons stacked, each drawn over the same plane as the big plot. The layer feeding
        # the Output is the decision itself, already drawn large.
        last = (
            set(self.network.inputs_of(self.network.nodes_of_role(Role.OUTPUT)[0].id))
            if self.network is not None and self.network.nodes_of_role(Role.OUTPUT)
            else set()
        )
        net = self.network
        self.hidden = [
            n
            for n in self.ordered(plane.nodes)
            if (net is None or net.role_of(n) is not Role.OUTPUT) and n not in last
        ]
        if self.hidden:
            tl = self.thumbs_layout = lay.addLayout(row=0, col=2, rowspan=2)
            add_label(
                tl, "Hidden neurons", row=0, col=0, colspan=len(self.hidden) + 1, color=INK, size="11pt"
            )
            self.thumb_levels = {n: SymmetricLevels() for n in self.hidden}
            images = []
            for i, nid in enumerate(self.hidden):
                g1, g0, units = plane.nodes[nid].shape
                rows = min(units, THUMB_ROWS)
                mos = Mosaic(units, g1, g0, cols=int(np.ceil(units / rows)), pad=max(2, g0 // 12), flip=True)
                act = (net.activation_of(nid) if net is not None else None) or ""
                add_label(
                    tl, f"{self.node_name(nid)}<br>{units} × {act}", row=1, col=i, color=MUTED, size="9pt"
                )
                vb, img = image_view(tl, row=2, col=i)
                img.setColorMap(diverging_cmap())
                self.thumbs[nid] = (mos, img)
                images.append(img)
                self.add_hover(img, lambda r, c, nid=nid: self._describe_thumb(nid, r, c))
            self.thumb_bar = colorbar(diverging_cmap(), images, width=10, label="neuron output")
            tl.addItem(self.thumb_bar, row=2, col=len(self.hidden))
            tl.layout.setRowStretchFactor(2, 1)
            lay.layout.setColumnStretchFactor(0, 3)
            lay.layout.setColumnStretchFactor(2, 2)

    def _update(self, snapshot) -> None:
        plane = snapshot.plane
        if plane is None or self.heat is None:
            return
        p = plane.probabilities
        if p.shape[-1] == 2:
            self.heat.setImage(p[..., 1], levels=(0.0, 1.0), autoLevels=False)
        else:
            self.heat.setImage(self._blend(p), autoLevels=False, levels=(0, 255))
        x = snapshot.probe_x[self.selected_sample]
        self.selected_marker.setData([x[0]], [x[1]])
        for nid, (mos, img) in self.thumbs.items():
            v = plane.nodes[nid]
            levels = self.thumb_levels[nid].update(v)
            img.setImage(mos.compose(np.moveaxis(v, -1, 0)), levels=levels, autoLevels=False)
        if self.thumbs:
            self.thumb_bar.setLevels(
                (
                    -max(self.thumb_levels[n].level for n in self.hidden),
                    max(self.thumb_levels[n].level for n in self.hidden),
                )
            )

    @staticmethod
    def _blend(p: np.ndarray) -> np.ndarray:
        """More than two classes: each pixel the class colours mixed by probability, pale where unsure."""
        colors = np.array([class_color(k) for k in range(p.shape[-1])], np.float32)
        mix = p @ colors
        conf = p.max(axis=-1, keepdims=True)
        return (np.array(NEUTRAL, np.float32) * (1 - conf) + mix * conf).astype(np.uint8)

    # ------------------------------------------------------------ hover

    def _describe_plane(self, r, c):
        plane = self.snapshot.plane
        p = plane.probabilities[r, c]
        probs = ", ".join(f"P({self.class_name(k)}) {fmt(float(v))}" for k, v in enumerate(p))
        return f"x₁ {fmt(float(plane.xs[c]))}, x₂ {fmt(float(plane.ys[r]))}: {probs}"

    def _describe_thumb(self, nid, r, c):
        mos, img = self.thumbs[nid]
        hit = mos.locate(r, c)
        if hit is None:
            return None
        unit, y, x = hit
        plane = self.snapshot.plane
        return (
            f"{self.node_name(nid)} unit {unit} at x₁ {fmt(float(plane.xs[x]))}, x₂ {fmt(float(plane.ys[y]))}: "
            f"{fmt(float(plane.nodes[nid][y, x, unit]))}"
        )
