"""The training visualisation docks of the main window and the routing of live data to them.

pyqtgraph and the panels are imported only when :meth:`VisualsController.build` runs
(after the window is first on screen), so a cold start does not pay for them. The
bridge's timer delivers at most one snapshot per tick; it goes only to the panels a
user can see (a dock that is closed, or behind another tab, is skipped and catches up
with the newest snapshot when it comes to the front). Metrics always reach the curves,
which need the whole history.

Which panels there are, their docks' titles and tips, when each applies, how often it may
redraw and whether it draws a history: the panel registry says
(:data:`nnviz.qt.panels.PANELS`, each class's ``description``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMenu, QTabWidget

from ..core import datasets
from ..core.datasets import DatasetError, load_dataset
from ..engine.history import SnapshotHistory
from .timeline import TimelineBar

if TYPE_CHECKING:
    from .bridge import SessionBridge
    from .document import ProjectDocument


def dataset_info_for(document: ProjectDocument):
    """A DatasetInfo from the document's settings, without loading big datasets.

    Toy sets are regenerated (numpy, milliseconds) so their points can be drawn; image
    sets give their class names; imported files give what the analysis knows.
    """
    from .panels import DatasetInfo

    spec, ctx = document.project.dataset, document.context
    entry = datasets.CATALOGUE.get(spec.name)
    kind = entry.kind if entry is not None else "files"
    if kind == "toy2d":
        try:
            return DatasetInfo.from_dataset(load_dataset(spec))
        except DatasetError:
            pass
    shape = tuple(ctx.input_shape or ())
    if kind == "image":
        return DatasetInfo(entry.class_names, shape, "image")
    names = tuple(str(k) for k in range(ctx.n_classes or 0))
    return DatasetInfo(names, shape, "image" if len(shape) == 3 else "toy2d" if shape == (2,) else "table")


def _same_info(a, b) -> bool:
    if a is None or b is None:
        return a is b
    if (a.class_names, tuple(a.input_shape), a.kind) != (b.class_names, tuple(b.input_shape), b.kind):
        return False
    for name in ("x_train", "y_train", "x_test", "y_test"):
        u, v = getattr(a, name), getattr(b, name)
        if (u is None) != (v is None) or u is not None and (u.shape != v.shape or not (u == v).all()):
            return False
    return True


def retire_items(panel) -> None:
    """Clear ``panel`` and delete the pyqtgraph items it no longer shows, now and in Qt's order.

    Left to Python's cyclic collector, old items were freed at whatever moment it ran,
    sometimes in the middle of another item's paint (a segfault in ImageItem.paint).
    Items the panel keeps for its lifetime (the curves' plots) are re-added by ``clear``
    and are left alone.
    """
    layout = panel.layout_
    before = list(layout.items)
    panel.clear()
    scene = panel.graphics.scene()
    for item in before:
        if item in layout.items:
            continue
        if item.scene() is scene:
            scene.removeItem(item)
        item.deleteLater()
    panel.snapshot = None


# Heavy panels drawn from one snapshot at most, the most overdue first; the others wait for
# the next tick. When every heavy panel came due in the same tick, that tick took 30-60 ms
# and input waited behind it.
MAX_HEAVY_PER_TICK = 2


class VisualsController(QObject):
    """Owns the visualisation docks: builds them once, gives them context, routes snapshots and metrics."""

    built = Signal()
    frame_drawn = Signal(int)  # how many panels were updated from one snapshot

    def __init__(self, window: QMainWindow, bridge: SessionBridge) -> None:
        super().__init__(window)
        self.window = window
        self.bridge = bridge
        self.document: ProjectDocument | None = None
        self.docks: dict[str, QDockWidget] = {}
        self.panels: dict[str, Any] = {}
        self.applicable: dict[str, bool] = {}
        self.descriptions: dict[str, Any] = {}  # per panel: its class's PanelDescription
        # Per panel: seconds between redraws while training (from its description). A
        # skipped panel catches up with the newest snapshot when its interval has passed,
        # and at once when training stops.
        self.intervals: dict[str, float] = {}
        self.info = None  # the DatasetInfo the panels were given
        self.latest = None  # the newest snapshot of the current run
        self.history = SnapshotHistory()  # the run so far, for the timeline
        self._pinned = None  # the history snapshot the user scrubbed to (None: live)
        self.timeline = TimelineBar()
        self.timeline.scrubbed.connect(self._on_timeline_scrubbed)
        self.timeline.live_requested.connect(self.follow_live)
        self.frames = 0  # snapshots drawn (benchmarks count them)
        self._framed = None  # the last snapshot counted as a frame
        self.updates: dict[str, int] = {}  # per panel: snapshots shown
        self.seconds: dict[str, float] = {}  # per panel: time spent showing them
        self._shown: dict[str, Any] = {}  # per panel: the snapshot it shows
        self._last_show: dict[str, float] = {}  # per panel: when it last showed a snapshot
        self._pending: set[str] = set()  # panels that skipped the newest snapshot (too soon)
        self._catch_up = QTimer(self)
        self._catch_up.setSingleShot(True)
        self._catch_up.timeout.connect(self._on_catch_up)
        self._auto_hidden: set[str] = set()  # docks hidden because they do not apply
        self._front = None  # the panel brought to the front for the current context
        self._run_info_checked = False
        self._doc_connections: list = []
        self.surface = None  # the SurfaceController, once the panels exist
        self._metrics: list = []  # metrics of the current poll, for the curves
        self._before = None  # the window's size and side-dock widths before the docks were added
        self._export_dir: str | None = None  # where the last panel export went
        bridge.snapshot.connect(self._on_bridge_snapshot)
        bridge.progress.connect(self._on_bridge_metrics)
        bridge.epoch_ended.connect(self._on_bridge_metrics)
        bridge.active_changed.connect(self._on_bridge_active_changed)
        bridge.state_changed.connect(self._on_bridge_state_changed)
        bridge.reset_done.connect(self._on_bridge_reset_done)

    @property
    def is_built(self) -> bool:
        return bool(self.panels)

    # ------------------------------------------------------------ building (once)

    def build(self) -> None:
        """Create the panel docks (imports pyqtgraph); later calls do nothing."""
        if self.is_built:
            return
        from . import panels as P

        w = self.window
        # Adding docks to a shown window grows it by their size hints and squeezes the side
        # docks to their minimum; what the user had is put back below.
        self._before = (w.size(), [(d, d.width()) for d in self._side_docks()])
        w.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        w.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        for cls in P.PANELS:
            spec = cls.description
            panel = cls()
            panel.setObjectName(f"{spec.key}Panel")
            panel.setToolTip("")
            dock = QDockWidget(spec.title, w)
            dock.setObjectName(f"{spec.key.capitalize()}PanelDock")
            dock.setWidget(panel)
            dock.setFeatures(
                QDockWidget.DockWidgetFeature.DockWidgetMovable
                | QDockWidget.DockWidgetFeature.DockWidgetClosable
                | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            )
            dock.toggleViewAction().setStatusTip(spec.tooltip)
            dock.toggleViewAction().setToolTip(spec.tooltip)
            self.docks[spec.key] = dock
            self.panels[spec.key] = panel
            self.descriptions[spec.key] = spec
            self.intervals[spec.key] = spec.min_interval
            panel.graphics.viewport().installEventFilter(self)  # right-click: export
            self.updates[spec.key] = 0
            self.seconds[spec.key] = 0.0
        for dock in self.docks.values():
            w.addDockWidget(bottom, dock)
            dock.show()  # docks added to a shown window start hidden; the context decides which stay
        # The registry's first panel (the curves) beside one tab group of all the others.
        beside, first, *others = self.docks.values()
        w.splitDockWidget(beside, first, Qt.Orientation.Horizontal)
        for dock in others:
            w.tabifyDockWidget(first, dock)
        w.setTabPosition(bottom, QTabWidget.TabPosition.North)  # tab titles above, where eyes look first
        P.link_samples(self.panels.values())
        from .surface_controller import SurfaceController

        self.surface = SurfaceController(self, self.panels["surface"])
        self.layout_defaults()
        QTimer.singleShot(0, self.layout_defaults)  # again once the new docks have their sizes
        menu = getattr(w, "visuals_menu", None)
        if menu is not None:
            menu.clear()
            for dock in self.docks.values():
                menu.addAction(dock.toggleViewAction())
        self.refresh_context(clear=True)
        # Only now, with every panel holding its network: laying the docks out above already
        # toggled their visibility, and a run started before the docks existed has a snapshot.
        for key, dock in self.docks.items():
            dock.visibilityChanged.connect(
                lambda visible, key=key: self._on_dock_visibility_changed(key, visible)
            )
        self.built.emit()
        if self.current is not None:  # a run started before the docks existed
            self._deliver(self.current)
        if self._metrics:  # ... and its metrics so far
            self._flush_metrics()

    def _side_docks(self) -> list:
        w = self.window
        return [
            d
            for d in (getattr(w, n, None) for n in ("palette_dock", "inspector_dock", "settings_dock"))
            if d is not None and d.isVisible() and not d.isFloating()
        ]

    def layout_defaults(self) -> None:
        """Sizes for a 1500 x 950 window: the diagram above, curves and the main panel below."""
        w = self.window
        if self._before is not None:
            size, sides = self._before
            if w.size() != size and not w.isMaximized() and not w.isFullScreen():
                w.resize(size)
            sides = [(d, width) for d, width in sides if d.isVisible()]
            if sides:
                w.resizeDocks([d for d, _ in sides], [width for _, width in sides], Qt.Orientation.Horizontal)
        width = max(w.width(), 900)
        side = (
            sum(
                d.width()
                for d in (getattr(w, "palette_dock", None), getattr(w, "inspector_dock", None))
                if d is not None and d.isVisible()
            )
            or 530
        )
        centre = max(width - side, 400)
        beside, first = list(self.docks.values())[:2]
        w.resizeDocks([beside, first], [int(centre * 0.33), int(centre * 0.67)], Qt.Orientation.Horizontal)
        w.resizeDocks([beside], [int(max(w.height(), 600) * 0.5)], Qt.Orientation.Vertical)

    # ------------------------------------------------------------ context

    def set_document(self, document: ProjectDocument) -> None:
        from .wiring import rewire

        new = [(document.analysis_changed, self._on_document_analysis_changed)]
        rewire(self._doc_connections, new)
        self._doc_connections = new
        self.document = document
        self._forget_run()
        if self.is_built:
            self.refresh_context(clear=True)

    def refresh_context(self, clear: bool = True, info=None) -> None:
        """Give every panel the document's network, analysis and dataset; with ``clear``, forget the last run."""
        doc = self.document
        if doc is None or not self.is_built:
            return
        info = info if info is not None else dataset_info_for(doc)
        self.info = info
        for key, panel in self.panels.items():
            if clear:
                retire_items(panel)
            panel.set_context(doc.network, doc.analysis, info)
            self._shown.pop(key, None)
        self.update_applicable(info)

    def update_applicable(self, info=None) -> None:
        """Hide the docks that do not apply (no 2D data, no convolution) and bring the telling one to the front."""
        doc = self.document
        if doc is None or not self.is_built:
            return
        if info is None:
            info = self.info
        self.applicable = {key: d.applies(doc.network, info) for key, d in self.descriptions.items()}
        for key, ok in self.applicable.items():
            dock = self.docks[key]
            dock.toggleViewAction().setEnabled(ok)
            if not ok and not dock.isHidden():
                self._auto_hidden.add(key)
                dock.hide()
            elif ok and key in self._auto_hidden:
                self._auto_hidden.discard(key)
                dock.show()
        leaders = [k for k, d in self.descriptions.items() if self.applicable[k] and d.leads > 0]
        front = max(leaders, key=lambda k: self.descriptions[k].leads, default=None)
        if front != self._front:
            self._front = front
            if front is not None and not self.docks[front].isHidden():
                self.docks[front].raise_()

    def _on_document_analysis_changed(self, analysis) -> None:
        if self.bridge.active:  # the run trains a copy; its pictures still describe it
            return
        from .window.runs import fits

        if fits(self.bridge.run_state, self.document.project):  # a rename: the kept run goes on
            self.refresh_context(clear=False)
            if self.current is not None:
                self._deliver(self.current, throttle=False)
            return
        self._forget_run()
        self.refresh_context(clear=True)

    # ------------------------------------------------------------ live data

    def visible_keys(self) -> list[str]:
        """Panels a user can see now: dock open, in front of its tab group, window not minimised."""
        if not self.is_built or self.window.isMinimized():
            return []
        # A dock behind another tab is still "visible" to Qt (stacked, not hidden); what
        # tells is whether any of it is unobscured.
        return [
            k
            for k, p in self.panels.items()
            if self.applicable.get(k, True) and p.isVisible() and not p.visibleRegion().isEmpty()
        ]

    def _on_bridge_active_changed(self, active: bool) -> None:
        if active and self.bridge.continuing:  # a run goes on: curves, timeline and pictures too
            if (
                self.latest is None and not self._metrics
            ):  # shown for the first time (opened with the project)
                self.replay_history(getattr(self.bridge.run_state, "history", None) or [])
        elif active:  # a new run: fresh curves and pictures
            self._forget_run()
            self._run_info_checked = False
            self.refresh_context(clear=True)
        elif self._pending and self.current is not None and self.is_built:
            self._catch_up.stop()
            self._on_catch_up()  # training stopped: every panel shows its last state now, unthrottled

    def _on_bridge_state_changed(self, state: str) -> None:
        # Panels that can draw a cheaper draft do so while training runs, and at full
        # quality once it pauses or stops (the last picture is the one people study).
        draft = state == "running"
        for panel in self.panels.values():
            if hasattr(panel, "set_draft"):
                panel.set_draft(draft)

    def _on_bridge_reset_done(self) -> None:
        self._forget_run()
        self.refresh_context(clear=True)

    def replay_history(self, records) -> None:
        """Give the curves a kept run's epochs (a state's history records), as if they had just ended."""
        from .window.runs import epoch_end

        for record in records:
            try:
                self._on_bridge_metrics(epoch_end(record))
            except (TypeError, ValueError, KeyError):
                continue  # a record this version cannot read: the curves go without it

    def _forget_run(self) -> None:
        self._metrics = []
        self.latest = self._pinned = None
        self._pending.clear()
        self.history.clear()
        self._update_timeline()

    def _on_bridge_metrics(self, message) -> None:
        # One poll can bring hundreds of messages (a toy set's epochs last milliseconds):
        # the curves take them all at once, after the poll, and redraw once.
        if not self._metrics:
            QTimer.singleShot(0, self._flush_metrics)
        self._metrics.append(message)

    def _flush_metrics(self) -> None:
        if not self.is_built:
            return  # kept: build() hands them to the curves (a run restored before the window showed)
        messages, self._metrics = self._metrics, []
        if not messages:
            return
        self.panels["curves"].add_many(messages)
        report = next((m for m in reversed(messages) if getattr(m, "report", None) is not None), None)
        if report is not None:  # kept even while hidden: a missed report would wait for the next epoch
            self.panels["prediction"].add_metrics(report)

    def _on_bridge_snapshot(self, snapshot) -> None:
        self.latest = snapshot
        self.history.append(snapshot)
        self._update_timeline()
        if not self.is_built:
            return
        if not self._run_info_checked:
            self._check_run_dataset()
        if self._pinned is None:  # scrubbed back: the panels stay where the user put them
            self._deliver(snapshot)

    # ------------------------------------------------------------ the timeline

    @property
    def current(self):
        """The snapshot the panels should show: the one scrubbed to, else the newest."""
        return self._pinned if self._pinned is not None else self.latest

    @property
    def live(self) -> bool:
        return self._pinned is None

    def scrub_to(self, index: int) -> None:
        """Show the history's snapshot at ``index`` in every panel (training goes on)."""
        if not len(self.history):
            return
        index = max(0, min(index, len(self.history) - 1))
        self._pinned = self.history[index]
        self._pending.clear()
        self._update_timeline()
        if self.is_built:
            self.panels["curves"].set_marker(self._pinned.step)
        if self.is_built:
            self._deliver(self._pinned, throttle=False)

    def step_back(self, n: int = 1) -> None:
        """``n`` snapshots earlier than the one shown."""
        self.timeline.nudge(-n)

    def step_forward(self, n: int = 1) -> None:
        self.timeline.nudge(n)

    def follow_live(self) -> None:
        """Back to the newest snapshot, and follow training again."""
        was_pinned = self._pinned is not None
        self._pinned = None
        self._update_timeline()
        if self.is_built:
            self.panels["curves"].set_marker(None)
        if was_pinned and self.latest is not None and self.is_built:
            self._deliver(self.latest, throttle=False)

    def _on_timeline_scrubbed(self, index: int) -> None:
        self.scrub_to(index)

    def _update_timeline(self) -> None:
        h = self.history
        index = None
        if self._pinned is not None and len(h):
            index = h.index_at_step(self._pinned.step)  # thinning moves indices, not steps
        self.timeline.set_history(
            h.steps, [getattr(h[i], "epoch", 0) for i in range(len(h))], index, self._pinned is None
        )

    def _check_run_dataset(self) -> None:
        """The loaded dataset is the truth (imported files learn their shape only now)."""
        self._run_info_checked = True
        session = self.bridge.session
        ds = getattr(session, "dataset", None)
        if ds is None or not hasattr(ds, "x_train"):
            return
        from .panels import DatasetInfo

        info = DatasetInfo.from_dataset(ds)
        if not _same_info(info, self.info):
            self.info = info
            for key, panel in self.panels.items():
                if self.descriptions[key].accumulates:  # keeps the history that came first (metrics)
                    panel.info = info
                    continue
                retire_items(panel)
                panel.set_context(self.document.network, self.document.analysis, info)
                self._shown.pop(key, None)
            self.update_applicable(info)

    def _deliver(self, snapshot, keys=None, throttle: bool = True) -> None:
        # Throttling only paces a running session; once it has ended (or is paused) the
        # last snapshot must be on screen at once, not one interval later.
        throttle = throttle and self.bridge.active and not self.bridge.paused
        n = 0
        now = time.perf_counter()
        wait = None
        keys = self.visible_keys() if keys is None else keys
        if throttle:  # the most overdue first, so a panel left waiting goes next time
            keys = sorted(keys, key=lambda k: self._last_show.get(k, -1e9))
        heavy = 0
        for key in keys:
            if throttle:
                interval = self.intervals[key]
                left = self._last_show.get(key, -1e9) + interval - now
                if left <= 0 and interval > 0:
                    heavy += 1
                    if heavy > MAX_HEAVY_PER_TICK:
                        left = 0.001  # due, but this tick is full: the catch-up timer brings it
                if left > 0:
                    self._pending.add(key)
                    wait = left if wait is None else min(wait, left)
                    continue
            self._pending.discard(key)
            if self._show(key, snapshot):
                n += 1
        if wait is not None and not self._catch_up.isActive():
            self._catch_up.start(max(1, int(wait * 1000) + 1))
        if n and snapshot is not self._framed:  # a snapshot drawn in several ticks is one frame
            self._framed = snapshot
            self.frames += 1
            self.frame_drawn.emit(n)

    def _on_catch_up(self) -> None:
        if self.current is None or not self._pending:
            return
        visible = set(self.visible_keys())
        keys = [k for k in list(self._pending) if k in visible]
        self._pending.clear()
        if self.is_built:  # paced like any tick while training; at once when it has ended or paused
            self._deliver(self.current, keys)

    def _show(self, key: str, snapshot) -> bool:
        if self._shown.get(key) is snapshot:
            return False
        t0 = time.perf_counter()
        if self.descriptions[key].accumulates and snapshot is self.latest:
            self._replay_missed(key, snapshot)
        self.panels[key].show_snapshot(snapshot)
        self.seconds[key] += time.perf_counter() - t0
        self._shown[key] = snapshot
        self._last_show[key] = time.perf_counter()
        self.updates[key] += 1
        return True

    def close(self) -> None:
        """The window closes: stop the loss-surface thread."""
        if self.surface is not None:
            self.surface.close()

    # ------------------------------------------------------------ export

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.ContextMenu:
            key = next((k for k, p in self.panels.items() if p.graphics.viewport() is obj), None)
            if key is not None:
                self.export_menu(key).popup(event.globalPos())
                return True
        return super().eventFilter(obj, event)

    def export_menu(self, key: str) -> QMenu:
        """The panel's right-click menu: export it as a picture."""
        menu = QMenu(self.panels[key])
        menu.setObjectName("panelExportMenu")
        menu.addAction("Export as PNG…", lambda: self.export_panel(key, "png"))
        menu.addAction("Export as SVG…", lambda: self.export_panel(key, "svg"))
        return menu

    def export_panel(self, key: str, fmt: str = "png", path: str | Path | None = None) -> Path | None:
        """Write a panel as it is on screen to a PNG or SVG file (asks where when ``path`` is None)."""
        panel = self.panels[key]
        if path is None:
            title = self.descriptions[key].title
            suggested = str(
                Path(self._export_dir or Path.home()) / f"{title.lower().replace(' ', '-')}.{fmt}"
            )
            name, _ = QFileDialog.getSaveFileName(
                self.window,
                f"Export the {title} panel",
                suggested,
                "PNG image (*.png)" if fmt == "png" else "SVG drawing (*.svg)",
            )
            if not name:
                return None
            path = name
        path = Path(path)
        if path.suffix.lower() != f".{fmt}":
            path = path.with_suffix(f".{fmt}")
        try:
            written = panel.export(path)
        except OSError as exc:
            self._tell(f"Could not export the panel to {path}: {exc.strerror or exc}")
            return None
        self._export_dir = str(path.parent)
        self._tell(f"Exported {path.name}")
        return written

    def _tell(self, text: str) -> None:
        bar = getattr(self.window, "statusBar", None)
        if callable(bar):
            bar().showMessage(text, 6000)

    def _replay_missed(self, key: str, snapshot) -> None:
        panel = self.panels[key]
        last = getattr(panel, "last_step", None)
        if last is None:
            return
        for s in list(self.history):
            if last < s.step < snapshot.step:
                panel.show_snapshot(s)

    def _on_dock_visibility_changed(self, key: str, visible: bool) -> None:
        # Brought to the front (or reopened): catch up with the newest snapshot at once.
        if visible and self.current is not None and self.applicable.get(key, True):
            self._show(key, self.current)
