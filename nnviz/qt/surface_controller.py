"""The loss-surface dock's controls: what to compute, its progress, and the ball that follows training.

Every JAX call runs on the SurfaceWorker's thread; this side only sends requests, polls
the worker's messages on a timer and places the newest θ_t on the surface in numpy (a
projection onto two directions). The path comes from the timeline's snapshot history, so
it covers the run from its first step, and the ball follows the timeline when it is
scrubbed.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QSpinBox

from ..core.optimizers import OPTIMIZERS
from ..engine.surface.results import METHODS
from ..engine.surface.trajectory import flatten_layers
from ..engine.surface_worker import (
    PointLoss,
    SurfaceFailed,
    SurfaceProgress,
    SurfaceReady,
    SurfaceRequest,
    SurfaceWorker,
)

if TYPE_CHECKING:
    from .visuals import VisualsController

POLL_MS = 50
MAX_PATH_POINTS = 120  # θ_t snapshots handed to PCA (evenly spaced over the run)
LIVE_LINE_SECONDS = 1.5  # the straight line is recomputed this often while training
POINT_LOSS_SECONDS = 0.3  # the live ball's true loss is asked for this often


def evenly_spaced(n: int, most: int = MAX_PATH_POINTS) -> np.ndarray:
    """Indices of at most ``most`` of ``n`` points, evenly spaced, the first and last among them."""
    return np.unique(np.linspace(0, n - 1, min(n, most)).round().astype(int))


class SurfaceController(QObject):
    """Drives the SurfacePanel: the method and grid, Compute and Cancel, and the live ball."""

    computed = Signal(object)  # Surface
    failed = Signal(str)

    def __init__(self, visuals: VisualsController, panel) -> None:
        super().__init__(visuals)
        self.visuals = visuals
        self.bridge = visuals.bridge
        self.panel = panel
        self.worker = SurfaceWorker()
        self.surface = None
        self.job = 0
        self.auto_line = True  # the straight line follows training while it runs
        self._last_line = 0.0
        self._last_point = 0.0
        self._live_theta: tuple[int, np.ndarray, tuple, float] | None = None

        self.method_box = QComboBox()
        self.method_box.setObjectName("surfaceMethod")
        self.method_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.method_box.setMinimumContentsLength(16)  # long names are cut in the box, whole in the list
        for key, text in METHODS.items():
            self.method_box.addItem(text, key)
        self.method_box.setToolTip(
            "Descent plane: the two directions the path moved most in (PCA), through the trained weights.\n"
            "Random plane: two random, filter-normalised directions (Li et al. 2018): sharp or flat minimum?\n"
            "Straight line: the loss between the initial and the current weights (Goodfellow et al. 2015); "
            "follows training live.\n"
            f"Optimizer race: {', '.join(o.title for o in OPTIMIZERS.values())} from the same start.\n"
            "Exact: a model with exactly two weights, no projection at all."
        )
        self.grid_box = QSpinBox()
        self.grid_box.setObjectName("surfaceGrid")
        self.grid_box.setRange(11, 101)
        self.grid_box.setSingleStep(10)
        self.grid_box.setValue(31)
        self.grid_box.setPrefix("grid ")
        self.grid_box.setToolTip("Points along each side of the grid: finer is slower")
        self.compute_button = QPushButton("Compute")
        self.compute_button.setObjectName("surfaceCompute")
        self.compute_button.setToolTip("Compute the loss surface now (on its own thread; training goes on)")
        self.compute_button.clicked.connect(lambda: self.compute())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("surfaceCancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        self.progress = QProgressBar()
        self.progress.setObjectName("surfaceProgress")
        self.progress.setMaximumWidth(140)
        self.progress.hide()
        self.message = QLabel("")
        self.message.setObjectName("surfaceMessage")
        self.message.setWordWrap(False)
        # long messages are cut (the tooltip has them whole) rather than widening the window
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.message.setMinimumWidth(120)
        # A row of its own above the panel's view controls, so the dock stays narrow.
        row = QHBoxLayout()
        row.setContentsMargins(2, 0, 2, 0)
        for w in (self.method_box, self.grid_box, self.compute_button, self.cancel_button, self.progress):
            row.addWidget(w)
        row.addWidget(self.message, 1)
        panel.layout().insertLayout(0, row)
        panel.snapshot_shown.connect(self.on_shown)

        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)
        self.bridge.snapshot.connect(self._on_bridge_snapshot)
        self.bridge.active_changed.connect(self._on_bridge_active_changed)

    # ------------------------------------------------------------ requests

    @property
    def method(self) -> str:
        return self.method_box.currentData()

    def set_method(self, method: str) -> None:
        self.method_box.setCurrentIndex(self.method_box.findData(method))

    @property
    def busy(self) -> bool:
        return self.worker.busy_job != 0

    def run_inputs(self):
        """The run's project and dataset (the running session's, else the last run's), or why not."""
        b = self.bridge
        session = b.session
        project = getattr(session, "project", None) or b.run_project
        dataset = getattr(session, "dataset", None) or b.run_dataset
        if project is None or dataset is None or not hasattr(dataset, "x_train"):
            return None, None, "Train first: the surface is drawn around the weights training finds."
        return project, dataset, ""

    def path_snapshots(self) -> tuple:
        """The run so far, from the timeline's history (at most MAX_PATH_POINTS, evenly spaced).

        The worker flattens their weights: stacking 120 vectors of 100k weights here stalled
        the window every time the live line was recomputed.
        """
        h = self.visuals.history
        return tuple(h[int(i)] for i in evenly_spaced(len(h))) if len(h) else ()

    def recorded_path(self):
        """The finished run's own record of its path (every snapshot it made, not only those
        the window took), at most MAX_PATH_POINTS evenly spaced; None while a run goes on,
        when the timeline is the path, or when the run recorded none."""
        path = self.bridge.run_trajectory
        if self.bridge.active or path is None or len(path) < 2:
            return None
        idx = evenly_spaced(len(path))
        return type(path)(path.steps[idx], path.thetas[idx])

    def compute(self, method: str | None = None, quiet: bool = False) -> int:
        """Ask the worker for a surface; the job id (0 when it cannot be asked yet, with the reason shown)."""
        method = method or self.method
        project, dataset, why = self.run_inputs()
        if project is None:
            self._say(why, error=True)
            return 0
        snaps = self.path_snapshots()
        recorded = self.recorded_path()
        if method not in ("race", "exact") and len(snaps) < 2 and recorded is None:
            self._say(
                "Train a few steps first: the surface is drawn around the path training takes.", error=True
            )
            return 0
        path = (
            {"trajectory": recorded}
            if recorded is not None and len(recorded) > len(snaps)
            else {"snapshots": snaps}
        )
        self.job = self.worker.compute(
            SurfaceRequest(method, project, dataset, resolution=self.grid_box.value(), **path)
        )
        if not quiet:
            self.progress.setRange(0, 0)
            self.progress.show()
            self.cancel_button.show()
            self._say(f"Computing: {METHODS[method].lower()}…")
        self._timer.start()
        return self.job

    def cancel(self) -> None:
        self.worker.cancel()
        self._finish_progress()
        self._say("Cancelled.")

    # ------------------------------------------------------------ worker messages (GUI thread)

    def poll(self) -> None:
        # Read before draining: the worker posts a result before it stops being busy, so a
        # worker seen idle here has nothing left to post after this drain.
        busy = self.busy
        for msg in self.worker.drain():
            if isinstance(msg, SurfaceProgress) and msg.job == self.job:
                if not self.progress.isHidden():
                    self.progress.setRange(0, max(1, msg.total))
                    self.progress.setValue(min(msg.done, msg.total))
            elif isinstance(msg, SurfaceReady) and msg.job == self.job:
                self._show_surface(msg.surface)
            elif isinstance(msg, SurfaceFailed) and msg.job == self.job:
                self._finish_progress()
                if not msg.cancelled:
                    self._say(msg.reason, error=True)
                    self.failed.emit(msg.reason)
            elif isinstance(msg, PointLoss):
                self._on_point_loss(msg)
        if not busy and not self.bridge.active:
            self._timer.stop()

    def _show_surface(self, surface) -> None:
        self._finish_progress()
        self.surface = surface
        self.panel.set_surface(surface)
        took = f"{surface.seconds:.1f} s" if surface.seconds >= 0.1 else "<0.1 s"
        self._say(f"{surface.n_params:,} weights, loss on {surface.samples:,} training samples, {took}")
        current = self.visuals.current
        if current is not None:
            self.place(current)  # the ball where the panels are: the newest point, or the scrubbed one
        self.computed.emit(surface)

    def _finish_progress(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #c62828;" if error else "")
        self.message.setToolTip(text)

    # ------------------------------------------------------------ the live ball

    def place(self, snapshot) -> None:
        """Put the ball at ``snapshot``'s weights on the current surface (numpy: a projection)."""
        s = self.surface
        if s is None or snapshot is None or s.center is None or s.method in ("race",):
            return
        theta = flatten_layers(snapshot.params)
        if theta.shape != s.center.shape:
            return  # the surface belongs to another network
        xy, off = s.locate(theta)
        self._live_theta = (snapshot.step, theta, xy, off)
        self.panel.show_point(xy, snapshot.loss, off, snapshot.step)  # the probe's loss, until the true one
        now = time.perf_counter()
        if now - self._last_point >= POINT_LOSS_SECONDS or not self.bridge.active:
            self._last_point = now
            self.worker.point_loss(theta, snapshot.step)
            self._timer.start()

    def _on_point_loss(self, msg: PointLoss) -> None:
        live = self._live_theta
        if live is not None and live[0] == msg.step:
            self.panel.show_point(live[2], msg.loss, live[3], msg.step)

    def _in_view(self) -> bool:
        return "surface" in self.visuals.visible_keys()

    def _on_bridge_snapshot(self, snapshot) -> None:
        # The ball moves in on_shown, when the visuals give the panel a snapshot; here only
        # the live line is kept up with training.
        if self.method != "line" or not self.auto_line or not self._in_view():
            return
        now = time.perf_counter()
        if not self.busy and now - self._last_line >= LIVE_LINE_SECONDS:
            self._last_line = now
            self.compute("line", quiet=True)

    def _on_bridge_active_changed(self, active: bool) -> None:
        if active:
            self.worker.cancel()
            self.surface = None
            self._live_theta = None
            self._finish_progress()
            self._say("")
            return
        # The run ended: the descent it took can be drawn now, if someone is looking.
        if self._in_view() and self.surface is None and self.method not in ("race", "exact"):
            self.compute()

    def on_shown(self, snapshot) -> None:
        """The panel was given ``snapshot`` (live or scrubbed): move the ball there."""
        if self.surface is not None:
            self.place(snapshot)

    def close(self) -> None:
        self._timer.stop()
        self.worker.close(1.0)
