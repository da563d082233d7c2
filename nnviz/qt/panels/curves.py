"""Loss and accuracy while training: per step (raw and smoothed) and per epoch, train vs validation vs test."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QLabel

from nnviz.engine.messages import EpochEnd, Progress

from .description import PanelDescription
from .drawing.colors import BLUE, INK, MUTED, ORANGE
from .drawing.plots import fmt, style_plot
from .drawing.scales import SteadyRange
from .drawing.theme import Theme
from .panel import Panel

TRAIN = (60, 60, 70)
TRAIN_DARK = (200, 203, 208)  # the training curve on a dark palette
VAL = (46, 160, 67)
TEST = BLUE
CAP = 100_000  # points per series; past it neighbours merge in pairs, so a long run's memory stays flat


class _Series:
    """A growing (x, y) series in numpy arrays that double in size (no per-point lists), bounded.

    With ``smoothing`` it also keeps the exponential moving average of y, one value per
    point as it comes (the whole history is not re-smoothed every frame). Past ``cap``
    points, each pair of neighbours becomes one point (the later x, the mean y, the later
    average), so memory and per-frame cost stay bounded however long training runs.
    """

    def __init__(self, cap: int = CAP, smoothing: float | None = None) -> None:
        self.cap = max(4, cap)
        size = min(256, self.cap)
        self.x = np.empty(size, np.float64)
        self.y = np.empty(size, np.float64)
        self.s = np.empty(size, np.float64) if smoothing is not None else None
        self.smoothing = smoothing
        self._acc, self._count = 0.0, 0  # the average's state
        self.lo, self.hi = math.inf, -math.inf  # finite y range (for steady axes)
        self.lo_positive = math.inf
        self.n = 0

    def append(self, x: float, y: float) -> None:
        if self.n >= self.cap:
            self._halve()
        elif self.n == len(self.x):
            grow = min(len(self.x), self.cap - len(self.x))
            self.x = np.concatenate([self.x, np.empty(grow)])
            self.y = np.concatenate([self.y, np.empty(grow)])
            if self.s is not None:
                self.s = np.concatenate([self.s, np.empty(grow)])
        self.x[self.n], self.y[self.n] = x, y
        if math.isfinite(y):
            self.lo, self.hi = min(self.lo, y), max(self.hi, y)
            if y > 0:
                self.lo_positive = min(self.lo_positive, y)
        if self.s is not None:
            a = self.smoothing
            if math.isfinite(y):
                self._acc = a * self._acc + (1 - a) * y
                self._count += 1
            self.s[self.n] = self._acc / (1 - a**self._count) if self._count else math.nan
        self.n += 1

    def _halve(self) -> None:
        m = self.n // 2
        first, second = slice(0, 2 * m, 2), slice(1, 2 * m, 2)
        with np.errstate(invalid="ignore"):
            y = (
                np.nanmean(np.stack([self.y[first], self.y[second]]), axis=0)
                if np.isnan(self.y[: 2 * m]).any()
                else (self.y[first] + self.y[second]) / 2
            )
        self.x[:m] = self.x[second]
        self.y[:m] = y
        if self.s is not None:
            self.s[:m] = self.s[second]
        if self.n % 2:  # the last, unpaired point stays as it is
            self.x[m], self.y[m] = self.x[self.n - 1], self.y[self.n - 1]
            if self.s is not None:
                self.s[m] = self.s[self.n - 1]
            m += 1
        self.n = m

    def set_smoothing(self, smoothing: float) -> None:
        self.smoothing = smoothing
        self.s = np.empty(len(self.x))
        self.s[: self.n], self._acc, self._count = ema_state(self.ys, smoothing)

    @property
    def xs(self) -> np.ndarray:
        return self.x[: self.n]

    @property
    def ys(self) -> np.ndarray:
        return self.y[: self.n]

    @property
    def smooth(self) -> np.ndarray:
        return self.s[: self.n]


def ema_state(values: np.ndarray, smoothing: float) -> tuple[np.ndarray, float, int]:
    """``ema`` and the state to continue it: (averages, accumulator, finite values seen)."""
    out = np.empty(len(values))
    acc, n = 0.0, 0
    for i, v in enumerate(values):
        if math.isfinite(v):
            acc = smoothing * acc + (1 - smoothing) * v
            n += 1
        out[i] = acc / (1 - smoothing**n) if n else math.nan
    return out, acc, n


def ema(values: np.ndarray, smoothing: float) -> np.ndarray:
    """Exponential moving average with TensorBoard's debiasing (the first points are not pulled to 0)."""
    return ema_state(values, smoothing)[0]


class CurvesPanel(Panel):
    """Loss and accuracy over training steps; per-epoch train, validation and test points show overfitting."""

    description = PanelDescription(
        "curves", "Curves", "Loss and accuracy while training", min_interval=0.0, accumulates=True
    )

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.smoothing = 0.6
        self.log_loss = QCheckBox("Log scale (loss)")
        self.log_loss.toggled.connect(self._on_log_loss_toggled)
        self.smoothing_box = QDoubleSpinBox()
        self.smoothing_box.setRange(0.0, 0.99)
        self.smoothing_box.setSingleStep(0.05)
        self.smoothing_box.setValue(self.smoothing)
        self.smoothing_box.setToolTip("Exponential moving average of the per-step curves (0: raw)")
        self.smoothing_box.valueChanged.connect(self._on_smoothing_box_changed)
        self.controls.addWidget(self.log_loss)
        self.controls.addSpacing(16)
        self.controls.addWidget(QLabel("Smoothing"))
        self.controls.addWidget(self.smoothing_box)
        self.controls.addStretch(1)

        self.loss_plot = pg.PlotItem()
        self.acc_plot = pg.PlotItem()
        style_plot(self.loss_plot, "Loss", None, "loss")
        style_plot(self.acc_plot, "Accuracy", "training step", "accuracy")
        self.acc_plot.setXLink(self.loss_plot)
        self.acc_plot.setYRange(0, 1.02, padding=0)
        # Axes move only when the curves outgrow them (steps: half as much again), not with
        # every point: a moving range re-draws the axes and the whole plot each frame.
        self.x_range = SteadyRange(self.loss_plot, "x", pad=0.0, shrink=0.0, grow=0.5, floor=0.0)
        self.loss_range = SteadyRange(self.loss_plot, "y", pad=0.08, shrink=0.55, floor=0.0)
        self._loss_title = None
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.legends: dict[str, pg.LegendItem] = {}
        self.labels: dict[str, str] = {}  # curves join the legend once they have data
        self.in_legend: set[str] = set()
        for plot, metric in ((self.loss_plot, "loss"), (self.acc_plot, "accuracy")):
            plot.showGrid(x=True, y=True, alpha=0.15)
            # Loss falls and accuracy rises: put each legend where its curves are not.
            legend = plot.addLegend(
                offset=(-6, 6) if metric == "loss" else (-6, -6),
                labelTextColor=INK,
                labelTextSize="8pt",
                verSpacing=-6,
                brush=pg.mkBrush(255, 255, 255, 170),
                pen=pg.mkPen(210, 210, 210),
            )
            self.legends[metric] = legend
            raw = plot.plot(pen=pg.mkPen((*TRAIN, 60), width=1))
            smooth = plot.plot(pen=pg.mkPen(TRAIN, width=2))
            self.train_pens = [(raw, 60, 1), (smooth, 255, 2)] + getattr(self, "train_pens", [])
            self.labels[f"smooth_{metric}"] = "train (smoothed)"
            for c in (raw, smooth):
                c.setDownsampling(auto=True, method="peak")
                c.setClipToView(True)
            self.curves[f"step_{metric}"] = raw
            self.curves[f"smooth_{metric}"] = smooth
            for split, color, symbol in (("train", TRAIN, "s"), ("val", VAL, "t"), ("test", TEST, "o")):
                label = {"train": "train (epoch)", "val": "validation", "test": "test"}[split]
                self.curves[f"{split}_{metric}"] = plot.plot(
                    pen=pg.mkPen(
                        color,
                        width=2,
                        style=pg.QtCore.Qt.PenStyle.DashLine
                        if split == "train"
                        else pg.QtCore.Qt.PenStyle.SolidLine,
                    ),
                    symbol=symbol,
                    symbolSize=8,
                    symbolBrush=pg.mkBrush(color),
                    symbolPen=pg.mkPen("w"),
                )
                self.labels[f"{split}_{metric}"] = label
            legend.setVisible(False)  # an empty legend is a stray box; it shows with its first curve
        # Where the timeline is when it has been scrubbed back (hidden while it follows training).
        self.markers = []
        for plot in (self.loss_plot, self.acc_plot):
            line = pg.InfiniteLine(
                angle=90, movable=False, pen=pg.mkPen(MUTED, width=1.5, style=pg.QtCore.Qt.PenStyle.DashLine)
            )
            line.setZValue(20)
            line.hide()
            plot.addItem(line, ignoreBounds=True)
            self.markers.append(line)
        self._context_changed()

    def _context_changed(self) -> None:
        self.series = {
            k: _Series(smoothing=self.smoothing if k.startswith("step_") else None)
            for k in self.curves
            if not k.startswith("smooth")
        }
        self.x_range.reset()
        self.loss_range.reset()
        for key in list(self.in_legend):
            self.legends[key.split("_", 1)[1]].removeItem(self.curves[key])
        self.in_legend.clear()
        for legend in self.legends.values():
            legend.setVisible(False)
        self.layout_.clear()
        self.layout_.addItem(self.loss_plot, row=0, col=0)
        self.layout_.addItem(self.acc_plot, row=1, col=0)
        self._redraw()

    def clear(self) -> None:
        self._context_changed()
        self.set_marker(None)

    def set_marker(self, step: int | None) -> None:
        """Mark the step the timeline shows (None: it follows training, no mark)."""
        for line in self.markers:
            if step is None:
                line.hide()
            else:
                line.setValue(step)
                line.show()

    @property
    def marker_step(self) -> float | None:
        line = self.markers[0]
        return None if not line.isVisible() else float(line.value())

    def show_snapshot(self, snapshot) -> None:
        self.snapshot = snapshot  # the curves come from add_metrics, not from snapshots

    # ------------------------------------------------------------ metrics

    def add_metrics(self, message) -> None:
        """Append a Progress (per-step point) or an EpochEnd (per-epoch train/val/test points)."""
        self.add_many((message,))

    def add_many(self, messages) -> None:
        """Append several messages and redraw once (tiny epochs end hundreds of times a second)."""
        keys: set[str] = set()
        for message in messages:
            if isinstance(message, Progress):
                self.series["step_loss"].append(message.step, message.train_loss)
                self.series["step_accuracy"].append(message.step, message.train_accuracy)
                keys.update(("step_loss", "step_accuracy"))
            elif isinstance(message, EpochEnd):
                for split in ("train", "val", "test"):
                    for metric in ("loss", "accuracy"):
                        v = getattr(message, f"{split}_{metric}")
                        if v is not None and math.isfinite(v):  # no validation split: no points
                            self.series[f"{split}_{metric}"].append(message.step, v)
                            keys.add(f"{split}_{metric}")
        if keys:
            self._redraw(sorted(keys))

    def _redraw(self, keys=None) -> None:
        for key in keys if keys is not None else list(self.series):
            s = self.series[key]
            self.curves[key].setData(s.xs, s.ys, connect="finite")
            shown = f"smooth_{key[5:]}" if key.startswith("step_") else key
            if s.n and shown not in self.in_legend:
                legend = self.legends[shown.split("_", 1)[1]]
                legend.addItem(self.curves[shown], self.labels[shown])
                legend.setVisible(True)
                self.in_legend.add(shown)
            if key.startswith("step_"):
                metric = key[5:]
                self.curves[f"smooth_{metric}"].setData(s.xs, s.smooth, connect="finite")
        self._fit_ranges()
        self._update_gap()

    def _fit_ranges(self, force: bool = False) -> None:
        series = [s for s in self.series.values() if s.n]
        if not series:
            return
        self.x_range.fit(0.0, max(float(s.x[s.n - 1]) for s in series), force=force)
        losses = [
            self.series[k] for k in ("step_loss", "train_loss", "val_loss", "test_loss") if self.series[k].n
        ]
        if self.log_loss.isChecked():
            lo = min(s.lo_positive for s in losses) if losses else math.inf
            hi = max(s.hi for s in losses) if losses else -math.inf
            if 0 < lo <= hi:
                self.loss_range.floor = None
                self.loss_range.fit(math.log10(lo), math.log10(hi), force=force)
        elif losses:
            self.loss_range.floor = 0.0
            self.loss_range.fit(min(s.lo for s in losses), max(s.hi for s in losses), force=force)

    def smoothed(self, metric: str) -> np.ndarray:
        return self.series[f"step_{metric}"].smooth

    def _theme_changed(self, theme: Theme) -> None:
        color = TRAIN_DARK if theme.dark else TRAIN
        for curve, alpha, width in self.train_pens:
            curve.setPen(pg.mkPen((*color, alpha), width=width))
        for split, style in (("train", pg.QtCore.Qt.PenStyle.DashLine),):
            for metric in ("loss", "accuracy"):
                c = self.curves[f"{split}_{metric}"]
                c.setPen(pg.mkPen(color, width=2, style=style))
                c.setSymbolBrush(pg.mkBrush(color))
        self._loss_title = None
        self._update_gap()

    def _update_gap(self) -> None:
        """The generalisation gap in the loss plot's title: it widens when the network overfits."""
        tr, te = self.series["train_loss"], self.series["val_loss"]
        which = "validation"
        if te.n == 0:
            te, which = self.series["test_loss"], "test"
        ink = self.theme.ink
        if tr.n and te.n:
            gap = te.ys[-1] - tr.ys[-1]
            color = ORANGE if gap > 0.05 else ink
            title = f"Loss  <span style='color:{color}'>({which} − train: {gap:+.3f})</span>"
        else:
            title = "Loss"
        if title != self._loss_title:  # a new title re-lays out the plot: only when it changes
            self._loss_title = title
            self.loss_plot.setTitle(title, color=ink, size="11pt")

    # ------------------------------------------------------------ controls and hover

    def _on_log_loss_toggled(self, on: bool) -> None:
        self.loss_plot.setLogMode(y=on)
        self.loss_plot.setLabel("left", "loss (log scale)" if on else "loss", color=self.theme.ink)
        self._fit_ranges(force=True)

    def _on_smoothing_box_changed(self, value: float) -> None:
        self.smoothing = float(value)
        for key in ("step_loss", "step_accuracy"):
            self.series[key].set_smoothing(self.smoothing)
        self._redraw(("step_loss", "step_accuracy"))

    def _hover_fallback(self, scene_pos):
        for plot, metric in ((self.loss_plot, "loss"), (self.acc_plot, "accuracy")):
            if not plot.sceneBoundingRect().contains(scene_pos):
                continue
            x = plot.getViewBox().mapSceneToView(scene_pos).x()
            parts = []
            s = self.series[f"step_{metric}"]
            if s.n:
                i = int(np.clip(np.searchsorted(s.xs, x), 0, s.n - 1))
                parts.append(
                    f"step {int(s.xs[i])}: train {metric} {fmt(s.ys[i])} "
                    f"(smoothed {fmt(self.smoothed(metric)[i])})"
                )
            for split in ("train", "val", "test"):
                e = self.series[f"{split}_{metric}"]
                if e.n:
                    j = int(np.clip(np.searchsorted(e.xs, x), 0, e.n - 1))
                    parts.append(f"epoch {j + 1} {split} {fmt(e.ys[j])}")
            return " | ".join(parts) if parts else None
        return None
