"""The loss surface with the descent on it: a heatmap with contours, the path and a ball.

The panel draws a ``nnviz.engine.surface.Surface`` (plain numpy, computed off the GUI
thread); it never calls JAX. A plane is a heatmap with contour lines, each path a line
from its start (hollow circle) to a ball at the current point; a line (Goodfellow's
θ_0 -> θ_T) is a curve with the path's true losses as dots. The title says how much of
the path's movement the plane explains and how far the real point lies off it. Where
OpenGL works, a "3D" switch shows the same surface as a relief (pyqtgraph.opengl); where
it does not (offscreen, no PyOpenGL) the switch is disabled and the 2D view stays.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QLabel, QSlider

from nnviz.core.optimizers import OPTIMIZERS
from nnviz.engine.surface.results import Surface, optimizer_label

from .description import PanelDescription
from .drawing.colors import INK, MUTED
from .drawing.plots import fmt, style_plot
from .panel import Panel

PATH_COLOR = (255, 255, 255)
BALL_COLOR = (230, 57, 70)
N_CONTOURS = 12


def surface_cmap() -> pg.ColorMap:
    """Deep valleys dark, high ground bright (viridis): low loss reads as a basin."""
    return pg.colormap.get("viridis")


def gl_available() -> bool:
    """True when a 3D view can be made: PyOpenGL imports and Qt can create a GL context."""
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance()
    platform = app.platformName() if app is not None else os.environ.get("QT_QPA_PLATFORM", "")
    if platform in ("offscreen", "minimal", "vnc"):
        return False
    try:
        import OpenGL  # noqa: F401  (pyqtgraph.opengl needs PyOpenGL)
        import pyqtgraph.opengl  # noqa: F401
        from PySide6.QtGui import QOpenGLContext
    except Exception:
        return False
    ctx = QOpenGLContext()
    return bool(ctx.create())


def optimizer_color(name: str, index: int = 0) -> tuple[int, int, int]:
    """The optimizer's colour from its table entry; one of theirs by position for an unknown name."""
    if name in OPTIMIZERS:
        return OPTIMIZERS[name].color
    return list(OPTIMIZERS.values())[index % len(OPTIMIZERS)].color


def contour_levels(values: np.ndarray, n: int = N_CONTOURS) -> np.ndarray:
    """Levels from the minimum up to the 90th percentile, closer together near the minimum,
    where the basin's shape is."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.zeros(0)
    lo, hi = float(finite.min()), float(np.quantile(finite, 0.9))
    if not hi > lo:
        return np.zeros(0)
    return lo + (hi - lo) * (np.arange(1, n + 1) / n) ** 2


class SurfacePanel(Panel):
    """The loss surface around the weights and the path training took on it (one or many optimizers)."""

    description = PanelDescription(
        "surface", "Loss surface", "The loss around the weights and the path training takes on it"
    )
    snapshot_shown = Signal(object)  # a snapshot was given (live or scrubbed): where training is

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.surface: Surface | None = None
        self.position: int | None = None  # path index the balls sit at; None: the last
        self.upsample = 4  # display pixels per grid step (bilinear), while the grid is small
        self._live: tuple[np.ndarray, float, float, int | None] | None = None
        self.log_box = QCheckBox("Log scale")
        self.log_box.setToolTip("Colour the loss on a log scale: shows the shape of the basin's floor")
        self.log_box.toggled.connect(self._on_log_box_toggled)
        self.view3d_box = QCheckBox("3D")
        self.gl_ok: bool | None = None  # known once the 3D view is first asked for
        self.view3d_box.toggled.connect(self._on_view3d_box_toggled)
        self.step_slider = QSlider(Qt.Orientation.Horizontal)
        self.step_slider.setToolTip("Move the ball along the path")
        self.step_slider.setEnabled(False)
        self.step_slider.valueChanged.connect(self._on_step_slider_changed)
        self.step_label = QLabel("")
        self.step_label.setMinimumWidth(80)
        self.controls.addWidget(self.log_box)
        self.controls.addWidget(self.view3d_box)
        self.controls.addSpacing(12)
        self.controls.addWidget(QLabel("Step"))
        self.controls.addWidget(self.step_slider, 1)
        self.controls.addWidget(self.step_label)
        if not self._gl_possible():
            self._disable_3d()

        # The plane: heatmap, contours (children of the image, so they share its mapping), paths.
        self.plot = pg.PlotItem()
        style_plot(self.plot, "Loss surface", "direction 1", "direction 2")
        self.plot.setMenuEnabled(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        self.plot.addItem(self.image)
        self.contours = []
        for _ in range(N_CONTOURS):
            iso = pg.IsocurveItem(level=0, pen=pg.mkPen(255, 255, 255, 110, width=1), axisOrder="row-major")
            iso.setParentItem(self.image)
            self.contours.append(iso)
        self.colorbar = pg.ColorBarItem(values=(0, 1), colorMap=surface_cmap(), interactive=False, width=14)
        self.colorbar.setImageItem(self.image)
        axis = self.colorbar.getAxis("right")
        axis.setPen(pg.mkPen(MUTED))
        axis.setTextPen(pg.mkPen(INK))
        axis.enableAutoSIPrefix(False)
        self.legend = self.plot.addLegend(
            offset=(6, 6),
            labelTextColor=INK,
            labelTextSize="8pt",
            verSpacing=-6,
            brush=pg.mkBrush(255, 255, 255, 200),
            pen=pg.mkPen(210, 210, 210),
        )
        # The line (1D): the loss on the straight line and the path's true losses.
        self.line_plot = pg.PlotItem()
        style_plot(self.line_plot, "Loss on a line", "a", "loss")
        self.line_plot.showGrid(x=True, y=True, alpha=0.15)
        self.line_curve = self.line_plot.plot(pen=pg.mkPen(INK, width=2))
        self.line_marks = [
            pg.InfiniteLine(
                pos=v,
                angle=90,
                pen=pg.mkPen(MUTED, style=Qt.PenStyle.DashLine),
                label=text,
                labelOpts={"color": MUTED, "position": 0.95},
            )
            for v, text in ((0.0, "start θ₀"), (1.0, "now θₜ"))
        ]
        for m in self.line_marks:
            self.line_plot.addItem(m)
        self.line_legend = self.line_plot.addLegend(
            offset=(6, -6),
            labelTextColor=INK,
            labelTextSize="8pt",
            verSpacing=-6,
            brush=pg.mkBrush(255, 255, 255, 200),
            pen=pg.mkPen(210, 210, 210),
        )
        self.path_items: dict[str, pg.PlotDataItem] = {}
        self.start_items: dict[str, pg.ScatterPlotItem] = {}
        self.ball_items: dict[str, pg.ScatterPlotItem] = {}
        self._path_names: tuple[str, ...] | None = None
        self._shown: str | None = None  # "plane" or "line": what the layout holds
        self.view3d = None  # the GLViewWidget, made on first use
        self._gl_items: dict = {}
        self.add_hover(self.image, self._describe_pixel)
        self._show_layout("plane")
        self.plot.setTitle("Loss surface: no surface computed yet", color=MUTED, size="10pt")

    # ------------------------------------------------------------ input

    def set_surface(self, surface: Surface | None) -> None:
        """Show ``surface`` (or nothing); the balls go to the end of the paths."""
        self.surface = surface
        self.position = None
        self._live = None
        if surface is None:
            self._clear_paths()
            self.image.clear()
            for iso in self.contours:
                iso.setData(None)
            self.line_curve.setData([], [])
            self.step_slider.setEnabled(False)
            self.plot.setTitle("Loss surface: no surface computed yet", color=MUTED, size="10pt")
            return
        self._show_layout("line" if surface.is_line else "plane")
        self._build_paths(surface)
        n = max((len(p.steps) for p in surface.paths), default=0)
        self.step_slider.blockSignals(True)
        self.step_slider.setRange(0, max(0, n - 1))
        self.step_slider.setValue(max(0, n - 1))
        self.step_slider.blockSignals(False)
        self.step_slider.setEnabled(n > 1)
        self._draw_surface()
        self._draw_paths()
        if self.view3d is not None and self.view3d_box.isChecked():
            self._draw_3d()

    def set_position(self, index: int | None) -> None:
        """Put the balls at path point ``index`` (None: each path's last point)."""
        self.position = index
        self._live = None
        if index is not None and self.step_slider.isEnabled() and self.step_slider.value() != index:
            self.step_slider.blockSignals(True)
            self.step_slider.setValue(index)
            self.step_slider.blockSignals(False)
        self._draw_paths()

    def show_point(self, xy, loss: float, off_plane: float, step: int | None = None) -> None:
        """While training: the current θ_t, placed on the plane by the caller (``Surface.locate``),
        with its true loss. The ball moves there and the title says how far off the plane it is."""
        self._live = (np.asarray(xy, np.float64).ravel(), float(loss), float(off_plane), step)
        self._draw_paths()

    @property
    def log_scale(self) -> bool:
        return self.log_box.isChecked()

    def set_log_scale(self, on: bool) -> None:
        self.log_box.setChecked(bool(on))

    def clear(self) -> None:
        self.set_surface(None)

    def show_snapshot(self, snapshot) -> None:
        self.snapshot = snapshot  # surfaces come from set_surface / show_point, not snapshots
        self.snapshot_shown.emit(snapshot)  # the controller moves the ball there

    def _context_changed(self) -> None:
        if hasattr(self, "image"):  # a new network: its old surface no longer applies
            self.set_surface(None)

    # ------------------------------------------------------------ drawing

    def _show_layout(self, which: str) -> None:
        if which == self._shown:
            return
        self.layout_.clear()
        if which == "plane":
            self.layout_.addItem(self.plot, row=0, col=0)
            self.layout_.addItem(self.colorbar, row=0, col=1)
        else:
            self.layout_.addItem(self.line_plot, row=0, col=0)
        self._shown = which

    def _values(self, loss: np.ndarray) -> np.ndarray:
        if not self.log_scale:
            return np.asarray(loss, np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log10(np.maximum(np.asarray(loss, np.float64), 1e-12))

    def _draw_surface(self) -> None:
        s = self.surface
        if s is None:
            return
        if s.is_line:
            self.line_curve.setData(np.asarray(s.a, np.float64), self._values(s.loss))
            self.line_plot.setLogMode(y=False)
            self.line_plot.setLabel("left", "log₁₀ loss" if self.log_scale else "loss", color=INK)
            self.line_plot.setLabel("bottom", s.labels[0], color=INK)
            self._set_title()
            return
        z = self._values(s.loss).astype(np.float32)
        finite = z[np.isfinite(z)]
        lo = float(finite.min()) if finite.size else 0.0
        hi = float(np.quantile(finite, 0.98)) if finite.size else 1.0
        if not hi > lo:
            hi = lo + 1e-6
        a, b = np.asarray(s.a, np.float64), np.asarray(s.b, np.float64)
        da = (a[-1] - a[0]) / max(len(a) - 1, 1) if len(a) > 1 else 1.0
        db = (b[-1] - b[0]) / max(len(b) - 1, 1) if len(b) > 1 else 1.0
        factor = self.upsample if max(z.shape) <= 128 else 1
        shown = upsample(np.where(np.isfinite(z), z, hi), factor)
        self.image.setImage(shown, autoLevels=False)
        # Pixel centres of the upsampled image sit on the grid's extent, corner to corner.
        fa, fb = (a[-1] - a[0]) / max(shown.shape[1] - 1, 1), (b[-1] - b[0]) / max(shown.shape[0] - 1, 1)
        fa, fb = fa or da, fb or db
        self.image.setRect(QRectF(a[0] - fa / 2, b[0] - fb / 2, fa * shown.shape[1], fb * shown.shape[0]))
        self.colorbar.setLevels((lo, hi))
        self.colorbar.getAxis("right").setLabel("log₁₀ loss" if self.log_scale else "loss", color=INK)
        levels = contour_levels(z)
        for iso, level in zip(self.contours, list(levels) + [None] * N_CONTOURS):
            if level is None:
                iso.setData(None)
            else:
                iso.setData(shown)
                iso.setLevel(float(level))
        self.plot.setLabel("bottom", s.labels[0], color=INK)
        self.plot.setLabel("left", s.labels[1], color=INK)
        self.plot.getViewBox().setRange(xRange=(a[0], a[-1]), yRange=(b[0], b[-1]), padding=0)
        self._set_title()

    def _clear_paths(self) -> None:
        for items in (self.path_items, self.start_items, self.ball_items):
            for item in items.values():
                for plot in (self.plot, self.line_plot):
                    if item in plot.items:
                        plot.removeItem(item)
            items.clear()
        self.legend.clear()
        self.line_legend.clear()
        self._path_names = None

    def _build_paths(self, s: Surface) -> None:
        names = tuple(p.name for p in s.paths) + (("line",) if s.is_line else ("plane",))
        if names == self._path_names:
            return
        self._clear_paths()
        plot = self.line_plot if s.is_line else self.plot
        race = s.method == "race"
        for i, p in enumerate(s.paths):
            color = optimizer_color(p.name, i) if race else (PATH_COLOR if not s.is_line else (8, 119, 189))
            outline = pg.mkPen(30, 30, 30, 200, width=1)
            if s.is_line:
                item = plot.plot(
                    pen=None, symbol="o", symbolSize=5, symbolBrush=pg.mkBrush(*color, 160), symbolPen=None
                )
            else:
                # In a race, earlier paths are drawn wider, so one that runs under a later one still shows.
                width = 2 + 0.6 * (len(s.paths) - 1 - i) if race else 2
                item = plot.plot(pen=pg.mkPen(color, width=width))
            start = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(0, 0, 0, 0), pen=pg.mkPen(color, width=2))
            ball = pg.ScatterPlotItem(
                size=14 if not race else 12, brush=pg.mkBrush(*(color if race else BALL_COLOR)), pen=outline
            )
            plot.addItem(start)
            plot.addItem(ball)
            self.path_items[p.name] = item
            self.start_items[p.name] = start
            self.ball_items[p.name] = ball
        self._path_names = names

    def _index(self, n: int) -> int:
        if n == 0:
            return 0
        return n - 1 if self.position is None else int(np.clip(self.position, 0, n - 1))

    def _draw_paths(self) -> None:
        s = self.surface
        if s is None:
            return
        legend = self.line_legend if s.is_line else self.legend
        legend.clear()
        race = s.method == "race"
        for p in s.paths:
            item, start, ball = self.path_items[p.name], self.start_items[p.name], self.ball_items[p.name]
            k = self._index(len(p.steps))
            if s.is_line:
                x, y = p.xy[:, 0], self._values(p.loss)
            else:
                x, y = p.xy[:, 0], p.xy[:, 1]
            item.setData(x, y)
            if len(x):
                start.setData([x[0]], [y[0]])
                bx, by = x[k], y[k]
                if self._live is not None and not race:
                    xy, loss, _, _ = self._live
                    bx, by = xy[0], (self._values(np.array([loss]))[0] if s.is_line else xy[1])
                ball.setData([bx], [by])
            if race:
                label = f"{_optimizer_name(p.name)}: loss {p.loss[k]:.3g}" + (
                    " (diverged)" if p.diverged else ""
                )
                legend.addItem(item, label)
            elif len(p.steps):
                legend.addItem(item, "true loss along the path" if s.is_line else "the path training took")
                legend.addItem(ball, f"now: step {self._step_now(p, k)}, loss {fmt(self._loss_now(p, k))}")
                legend.addItem(start, "start (initial weights)")
        if s.paths:
            p0 = s.paths[0]
            k = self._index(len(p0.steps))
            self.step_label.setText(f"step {self._step_now(p0, k)}")
            if not s.is_line:
                self._place_legend(s)
        self._set_title()
        if self.view3d is not None and self.view3d_box.isChecked():
            self._draw_3d_paths()

    def _place_legend(self, s: Surface) -> None:
        """Put the legend in the corner of the plane that the paths cross least."""
        pts = np.concatenate([p.xy for p in s.paths if len(p.xy)]) if s.paths else np.zeros((0, 2))
        a_mid, b_mid = (s.a[0] + s.a[-1]) / 2, (s.b[0] + s.b[-1]) / 2
        corners = {
            (6, 6): (pts[:, 0] < a_mid) & (pts[:, 1] > b_mid),  # top left
            (-6, 6): (pts[:, 0] >= a_mid) & (pts[:, 1] > b_mid),
            (6, -6): (pts[:, 0] < a_mid) & (pts[:, 1] <= b_mid),
            (-6, -6): (pts[:, 0] >= a_mid) & (pts[:, 1] <= b_mid),
        }
        offset = min(corners, key=lambda c: (int(np.sum(corners[c])), list(corners).index(c)))
        if tuple(self.legend.opts.get("offset") or ()) != offset:
            self.legend.setOffset(offset)

    def _step_now(self, p, k) -> int:
        if self._live is not None and self._live[3] is not None:
            return int(self._live[3])
        return int(p.steps[k])

    def _loss_now(self, p, k) -> float:
        return self._live[1] if self._live is not None else float(p.loss[k])

    def _set_title(self) -> None:
        s = self.surface
        if s is None:
            return
        parts = []
        ev = s.explained_variance
        if all(math.isfinite(v) for v in ev):
            parts.append(f"the plane explains {100 * ev[0]:.0f}% + {100 * ev[1]:.0f}% of the path's movement")
        if s.paths:
            p = s.paths[0]
            k = self._index(len(p.steps))
            off = (
                self._live[2]
                if self._live is not None
                else (float(p.off_plane[k]) if len(p.off_plane) else 0.0)
            )
            if s.method != "exact":
                where = "line" if s.is_line else "plane"
                most = max(float(q.off_plane.max()) for q in s.paths if len(q.off_plane))
                spread = float(np.ptp(p.xy, axis=0).max()) if len(p.xy) > 1 else 0.0
                if s.method == "race":
                    parts.append(f"the paths stray up to {_short(most)} off the {where}")
                else:
                    span = f" (it spans {_short(spread)} on it)" if spread > 0 and not s.is_line else ""
                    parts.append(
                        f"off the {where}: the ball {_short(off)}, the path at most {_short(most)}{span}"
                    )
            else:
                parts.append("no projection: these are the network's only two weights")
        elif math.isfinite(s.center_loss):
            parts.append(f"loss at the centre {fmt(s.center_loss)}")
        lines, line = [], ""
        for part in parts:  # at most ~90 characters a line, so a narrow panel does not cut it off
            if line and len(line) + len(part) > 90:
                lines.append(line)
                line = part
            else:
                line = f"{line} · {part}" if line else part
        if line:
            lines.append(line)
        sub = "<br>".join(lines)
        html = (
            f"{s.title or 'Loss surface'}<br><span style='font-size:9pt; color:{MUTED}'>{sub}</span>"
            if sub
            else (s.title or "Loss surface")
        )
        plot = self.line_plot if s.is_line else self.plot
        plot.setTitle(html, color=INK, size="11pt")
        # pyqtgraph gives a title one line (30 px); a subtitle needs its own lines.
        plot.layout.setRowFixedHeight(0, 26 + 15 * len(lines))

    # ------------------------------------------------------------ hover and controls

    def _describe_pixel(self, row: int, col: int) -> str | None:
        s = self.surface
        if s is None or s.is_line or self.image.image is None:
            return None
        h, w = self.image.image.shape[:2]
        row = int(round(row * (len(s.b) - 1) / max(h - 1, 1)))
        col = int(round(col * (len(s.a) - 1) / max(w - 1, 1)))
        return (
            f"{s.labels[0]} {fmt(float(s.a[col]))}, {s.labels[1]} {fmt(float(s.b[row]))}: "
            f"loss {fmt(float(s.loss[row, col]))}"
        )

    def _on_log_box_toggled(self, on: bool) -> None:
        self._draw_surface()
        self._draw_paths()
        if self.view3d is not None and self.view3d_box.isChecked():
            self._draw_3d()

    def _on_step_slider_changed(self, value: int) -> None:
        self.set_position(int(value))

    # ------------------------------------------------------------ 3D (where OpenGL works)

    def _gl_possible(self) -> bool:
        from PySide6.QtGui import QGuiApplication

        app = QGuiApplication.instance()
        if app is not None and app.platformName() in ("offscreen", "minimal", "vnc"):
            return False
        try:
            import OpenGL  # noqa: F401
        except Exception:
            return False
        return True

    def _disable_3d(self) -> None:
        self.gl_ok = False
        self.view3d_box.blockSignals(True)
        self.view3d_box.setChecked(False)
        self.view3d_box.blockSignals(False)
        self.view3d_box.setEnabled(False)
        self.view3d_box.setToolTip("3D needs OpenGL (PyOpenGL and a display with GL); the 2D view is shown")

    def _on_view3d_box_toggled(self, on: bool) -> None:
        if on and self.view3d is None:
            try:
                if not gl_available():
                    raise RuntimeError("no OpenGL")
                import pyqtgraph.opengl as gl

                self.view3d = gl.GLViewWidget()
                self.view3d.setBackgroundColor("w")
                # the unit box ([-1, 1]² x [0, 1]) whole in view, seen from above a corner
                self.view3d.setCameraPosition(distance=5.2, elevation=32, azimuth=-60)
                self.layout().insertWidget(self.layout().indexOf(self.graphics), self.view3d, 1)
                self.gl_ok = True
            except Exception:
                self.view3d = None
                self._disable_3d()
                return
        if self.view3d is not None:
            self.view3d.setVisible(on)
            self.graphics.setVisible(not on)
            if on:
                self._draw_3d()

    def _z_scale(self, z: np.ndarray) -> tuple[float, float]:
        finite = z[np.isfinite(z)]
        lo = float(finite.min()) if finite.size else 0.0
        hi = float(np.quantile(finite, 0.98)) if finite.size else 1.0
        return lo, max(hi - lo, 1e-9)

    def _draw_3d(self) -> None:
        import pyqtgraph.opengl as gl

        s = self.surface
        for item in self._gl_items.values():
            self.view3d.removeItem(item)
        self._gl_items.clear()
        if s is None or s.is_line:
            return
        a, b = np.asarray(s.a, np.float64), np.asarray(s.b, np.float64)
        z = self._values(s.loss)
        lo, span = self._z_scale(z)
        # Unit box: both plane axes to [-1, 1], the loss to [0, 1] (clipped above the 98th percentile).
        ua = 2 * (a - a.mean()) / max(np.ptp(a), 1e-12)
        ub = 2 * (b - b.mean()) / max(np.ptp(b), 1e-12)
        zz = np.clip((z - lo) / span, 0, 1.05)
        colors = surface_cmap().map(np.clip(zz, 0, 1).T.ravel(), mode="float").reshape(len(a), len(b), 4)
        # one colour per vertex, in the vertices' (a-major) order: pyqtgraph indexes the colours
        # by vertex number and does not flatten a (w, h, 4) array itself
        surf = gl.GLSurfacePlotItem(
            x=ua, y=ub, z=zz.T, colors=colors.reshape(-1, 4), shader=None, smooth=False
        )
        self.view3d.addItem(surf)
        self._gl_items["surface"] = surf
        self._gl_norm = (a.mean(), np.ptp(a), b.mean(), np.ptp(b), lo, span)
        self._draw_3d_paths()

    def _draw_3d_paths(self) -> None:
        import pyqtgraph.opengl as gl

        s = self.surface
        if s is None or s.is_line or "surface" not in self._gl_items:
            return
        for key in [k for k in self._gl_items if k != "surface"]:
            self.view3d.removeItem(self._gl_items.pop(key))
        am, aspan, bm, bspan, lo, span = self._gl_norm
        for i, p in enumerate(s.paths):
            color = np.array(optimizer_color(p.name, i) if s.method == "race" else (20, 20, 20)) / 255
            x = 2 * (p.xy[:, 0] - am) / max(aspan, 1e-12)
            y = 2 * (p.xy[:, 1] - bm) / max(bspan, 1e-12)
            h = (
                np.clip((self._values(p.loss) - lo) / span, 0, 1.05) + 0.01
            )  # the ball's height: the true loss
            pts = np.stack([x, y, h], axis=1)
            line = gl.GLLinePlotItem(pos=pts, color=(*color, 1.0), width=2, antialias=True)
            k = self._index(len(pts))
            ball = gl.GLScatterPlotItem(pos=pts[k : k + 1], color=(*np.array(BALL_COLOR) / 255, 1.0), size=12)
            self.view3d.addItem(line)
            self.view3d.addItem(ball)
            self._gl_items[f"line{i}"] = line
            self._gl_items[f"ball{i}"] = ball


def _short(v: float) -> str:
    """Three significant digits: distances in weight space, not measurements."""
    return f"{v:.3g}" if math.isfinite(v) else str(v)


def upsample(z: np.ndarray, factor: int) -> np.ndarray:
    """Bilinear upsampling of a grid for display: a 31 x 31 surface drawn as blocks looks like data
    on a chessboard, not a landscape. Corners stay on the grid's points."""
    if factor <= 1 or min(z.shape) < 2:
        return z
    h, w = z.shape
    ys = np.linspace(0, h - 1, (h - 1) * factor + 1)
    xs = np.linspace(0, w - 1, (w - 1) * factor + 1)
    y0 = np.minimum(ys.astype(int), h - 2)
    x0 = np.minimum(xs.astype(int), w - 2)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    z00, z01 = z[y0][:, x0], z[y0][:, x0 + 1]
    z10, z11 = z[y0 + 1][:, x0], z[y0 + 1][:, x0 + 1]
    return ((1 - fy) * ((1 - fx) * z00 + fx * z01) + fy * ((1 - fx) * z10 + fx * z11)).astype(np.float32)


def _optimizer_name(key: str) -> str:
    return optimizer_label(key)
