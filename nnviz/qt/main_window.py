"""The main window: the network editor in the middle, palette, inspector and settings around it.

The window owns one ProjectDocument at a time and one SessionBridge. It wires the
panels to the document, turns menu and toolbar actions into document edits or session
commands, and keeps the title, the Train action and the status bar truthful.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QSettings, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence, QUndoGroup
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStyle,
    QTextBrowser,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.graph import Network
from ..core.layers import LAYER_TYPES, shape_text
from ..core.optimizers import OPTIMIZERS
from ..core.presets import load_preset, preset_names
from ..core.project import Project, ProjectError
from ..engine.options import SessionOptions
from .bridge import SessionBridge
from .document import ProjectDocument
from .editor import NetworkEditor
from .inspector import NodeInspector
from .palette import LayerPalette
from .settings_panel import TrainingSettingsPanel
from .visuals import VisualsController

MAX_RECENT = 8
AUTOSAVE_MS = 30_000
AUTOSAVE_NAME = "autosave.nnviz.json"
FILE_FILTER = "nnviz projects (*.json);;All files (*)"
# A run started from the window: short chunks and frequent snapshots, so the panels
# animate at 30 Hz or more instead of jumping five times a second. Every chunk brings a
# snapshot (the interval is counted from the last one's start), and a chunk of 25 ms
# with its report comes every ~28 ms (at 30 ms, every ~33: 30 a second at best).
# path_points: the session records the weights of every snapshot it makes for the loss
# surface's path; a toy run of 4,650 steps in 1.5 s left only 2-12 in the window's history.
# (The keyword arguments of bridge.start: ``**LIVE_SESSION`` gives it these options.)
LIVE_SESSION = {"options": SessionOptions(chunk_seconds=0.025, snapshot_interval=0.025, path_points=240)}
# Training speeds a user can pick while watching: steps per frame (a frame is 1/30 s).
SPEEDS = (
    ("Full speed", None),
    ("100 steps a frame", 100),
    ("10 steps a frame", 10),
    ("1 step a frame (slow motion)", 1),
)


def new_project() -> Project:
    """What File > New gives: an Input and an Output, waiting for layers between them."""
    net = Network()
    net.add_node("Input", {}, (0.0, 0.0))
    net.add_node("Output", {}, (600.0, 0.0))
    return Project(network=net, name="Untitled")


class MessageBanner(QFrame):
    """A dismissable strip above the canvas for failures that must not block the window."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 6, 6)
        self.icon = QLabel()
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        lay.addWidget(self.icon)
        lay.addWidget(self.text, 1)
        lay.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, text: str, kind: str = "error") -> None:
        colours = {
            "error": ("#fdecea", "#b71c1c", QStyle.StandardPixmap.SP_MessageBoxCritical),
            "warning": ("#fff4e5", "#8a4b00", QStyle.StandardPixmap.SP_MessageBoxWarning),
            "info": ("#e8f4fd", "#0d3c61", QStyle.StandardPixmap.SP_MessageBoxInformation),
        }
        bg, fg, icon = colours[kind]
        self.setStyleSheet(
            f"QFrame#banner {{ background: {bg}; border: 1px solid {fg}; border-radius: 4px; }}"
            f" QFrame#banner QLabel {{ color: {fg}; }}"
        )
        self.icon.setPixmap(self.style().standardIcon(icon).pixmap(20, 20))
        self.text.setText(text)
        self.show()


class LayerReferenceDialog(QDialog):
    """Help > Layer reference: every layer type with its summary, formula and parameters."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Layer reference — nnviz")
        self.resize(720, 640)
        lay = QVBoxLayout(self)
        self.browser = QTextBrowser()
        self.browser.setHtml(self.reference_html())
        lay.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        lay.addWidget(buttons)

    @staticmethod
    def reference_html() -> str:
        parts = [
            "<h2>Layer reference</h2><p>Every building block of a network, what it computes "
            "and the settings it takes. Drag one from the palette onto the canvas.</p>"
        ]
        for t in LAYER_TYPES.values():
            parts.append(
                f"<h3>{html.escape(t.name)} <small>({html.escape(t.category)})</small></h3>"
                f"<p>{html.escape(t.summary)}</p>"
                f"<pre style='background:palette(alternate-base);padding:6px'>{html.escape(t.formula)}</pre>"
            )
            if t.params:
                rows = []
                for p in t.params:
                    allowed = (
                        ", ".join(p.choices)
                        if p.kind == "choice"
                        else "on / off"
                        if p.kind == "bool"
                        else f"{p.minimum:g} to {p.maximum:g}"
                        if p.minimum is not None and p.maximum is not None
                        else p.kind
                    )
                    rows.append(
                        f"<tr><td><b>{html.escape(p.title)}</b></td><td>{html.escape(allowed)}</td>"
                        f"<td>{html.escape(str(p.default))}</td><td>{html.escape(p.help)}</td></tr>"
                    )
                parts.append(
                    "<table border='0' cellspacing='0' cellpadding='3'><tr><th align='left'>Setting"
                    "</th><th align='left'>Allowed</th><th align='left'>Default</th>"
                    "<th align='left'>What it does</th></tr>" + "".join(rows) + "</table>"
                )
        return "".join(parts)


class MainWindow(QMainWindow):
    """nnviz's one window: build a network, set it up, press Train."""

    document_changed = Signal(object)  # ProjectDocument

    def __init__(
        self,
        document: ProjectDocument | None = None,
        *,
        settings: QSettings | None = None,
        autosave_dir: str | Path | None = None,
        data_dir: str | None = None,
        download: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings()
        if autosave_dir is None:
            autosave_dir = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
        self.autosave_path = Path(autosave_dir) / AUTOSAVE_NAME
        self.data_dir = data_dir
        self.download = download
        self.document: ProjectDocument | None = None
        self._autosaved_index = -1
        self._run_config = None  # TrainingConfig of the running session
        self._reference: LayerReferenceDialog | None = None
        self.setObjectName("MainWindow")
        self.resize(1440, 900)

        self.undo_group = QUndoGroup(self)
        self.bridge = SessionBridge(parent=self)

        # ---- centre: a banner above the editor
        doc = document or ProjectDocument(new_project())
        self.editor = NetworkEditor(doc)
        self.banner = MessageBanner()
        centre = QWidget()
        clay = QVBoxLayout(centre)
        clay.setContentsMargins(0, 0, 0, 0)
        clay.setSpacing(0)
        banner_box = QWidget()
        blay = QVBoxLayout(banner_box)
        blay.setContentsMargins(6, 4, 6, 0)
        blay.addWidget(self.banner)
        clay.addWidget(banner_box)
        clay.addWidget(self.editor, 1)
        self.setCentralWidget(centre)

        # ---- docks
        self.palette_widget = LayerPalette()
        self.palette_dock = self._dock(
            "Layers", "PaletteDock", self.palette_widget, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.inspector = NodeInspector()
        self.inspector_dock = self._dock(
            "Inspector", "InspectorDock", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.settings_panel = TrainingSettingsPanel()
        # Left: a narrow palette, so the diagram gets the width; right: the selected layer
        # above the data and training settings.
        self.settings_dock = self._dock(
            "Data and training", "TrainingDock", self.settings_panel, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.resizeDocks([self.palette_dock, self.inspector_dock], [190, 340], Qt.Orientation.Horizontal)
        self.resizeDocks([self.inspector_dock, self.settings_dock], [360, 520], Qt.Orientation.Vertical)
        # The visualisation docks below the diagram are built once the window is on screen
        # (pyqtgraph and the panels cost more to import than the rest of the window).
        self.visuals = VisualsController(self, self.bridge)
        self._visuals_scheduled = False

        self._build_status_bar()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()

        # ---- signals that do not depend on the document
        self.editor.selection_changed.connect(self._on_editor_selection_changed)
        self.editor.message.connect(self._on_editor_message)
        self.palette_widget.layer_activated.connect(self._on_palette_layer_activated)
        self.inspector.edited.connect(self._on_panel_edited)
        self.settings_panel.edited.connect(self._on_panel_edited)
        self.settings_panel.learning_rate_changed.connect(self._on_settings_learning_rate_changed)
        self.settings_panel.import_finished.connect(self._on_settings_import_finished)
        b = self.bridge
        b.loading.connect(self._on_bridge_loading)
        b.compiling.connect(self._on_bridge_compiling)
        b.state_changed.connect(self._on_bridge_state_changed)
        b.progress.connect(self._on_bridge_progress)
        b.epoch_ended.connect(self._on_bridge_epoch_ended)
        b.finished.connect(self._on_bridge_finished)
        b.failed.connect(self._on_bridge_failed)
        b.active_changed.connect(self._on_bridge_active_changed)

        self._autosave_timer = QTimer(self)
        self._autosave_timer.setInterval(AUTOSAVE_MS)
        self._autosave_timer.timeout.connect(self.autosave_now)
        self._autosave_timer.start()

        self.set_document(doc)
        self._restore_window_state()

    # ================================================================ construction

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)  # saveState needs names
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.status_label = QLabel("Ready")
        self.status_label.setObjectName("trainingStatus")
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("trainingProgress")
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setMinimumWidth(160)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Cancel the download (nothing half-downloaded is kept)")
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        self.cancel_button.hide()
        self.problem_label = QLabel()
        self.problem_label.setObjectName("networkStatus")
        sb.addWidget(self.status_label, 1)
        sb.addPermanentWidget(self.cancel_button)
        sb.addPermanentWidget(self.progress_bar)
        sb.addPermanentWidget(self.problem_label)

    def _action(self, text: str, slot, shortcut=None, tip: str = "", icon=None) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(tip)
        if icon is not None:
            a.setIcon(self.style().standardIcon(icon))
        a.triggered.connect(lambda _checked=False: slot())
        return a

    def _build_actions(self) -> None:
        SK, SP = QKeySequence.StandardKey, QStyle.StandardPixmap
        A = self._action
        self.action_new = A("&New", self.new_document, SK.New, "Start a new network", SP.SP_FileIcon)
        self.action_open = A("&Open…", self.open_file, SK.Open, "Open a project file", SP.SP_DialogOpenButton)
        self.action_save = A("&Save", self.save, SK.Save, "Save the project", SP.SP_DialogSaveButton)
        self.action_save_as = A("Save &As…", self.save_as, SK.SaveAs, "Save the project under a new name")
        self.action_quit = A("&Quit", self.close, SK.Quit, "Quit nnviz")
        self.action_undo = self.undo_group.createUndoAction(self, "&Undo")
        self.action_undo.setShortcut(QKeySequence(SK.Undo))
        self.action_undo.setIcon(self.style().standardIcon(SP.SP_ArrowBack))
        self.action_redo = self.undo_group.createRedoAction(self, "&Redo")
        self.action_redo.setShortcuts([QKeySequence(SK.Redo), QKeySequence("Ctrl+Y")])
        self.action_redo.setIcon(self.style().standardIcon(SP.SP_ArrowForward))
        self.action_cut = A("Cu&t", lambda: self.editor.cut(), SK.Cut, "Cut the selected nodes")
        self.action_copy = A("&Copy", lambda: self.editor.copy(), SK.Copy, "Copy the selected nodes")
        self.action_paste = A("&Paste", lambda: self.editor.paste(), SK.Paste, "Paste nodes")
        self.action_delete = A(
            "&Delete",
            lambda: self.editor.delete_selected(),
            SK.Delete,
            "Delete the selected nodes and their connections",
        )
        self.action_select_all = A("Select &All", lambda: self.editor.select_all(), SK.SelectAll)
        self.action_arrange = A(
            "A&rrange", lambda: self.editor.arrange(), "Ctrl+L", "Lay the network out from left to right"
        )
        self.action_zoom_in = A("Zoom &In", lambda: self.editor.zoom_in(), SK.ZoomIn)
        self.action_zoom_out = A("Zoom &Out", lambda: self.editor.zoom_out(), SK.ZoomOut)
        self.action_fit = A(
            "&Fit to Window", lambda: self.editor.fit_to_view(), "Ctrl+0", "Show the whole network"
        )
        self.action_train = A("&Train", self.train, "F5", "Train the network", SP.SP_MediaPlay)
        self.action_pause = A("&Pause", self.pause, "F6", "Pause training", SP.SP_MediaPause)
        self.action_step = A(
            "&Step", self.step, "F10", "Train one mini-batch, then pause", SP.SP_MediaSkipForward
        )
        self.action_stop = A(
            "St&op", self.stop, "Shift+F5", "Stop training (the weights so far are kept)", SP.SP_MediaStop
        )
        self.action_reset = A(
            "&Reset",
            self.reset,
            "Ctrl+Shift+R",
            "Forget the trained weights: the next Train starts from scratch",
            SP.SP_BrowserReload,
        )
        self.action_back = A(
            "Timeline &Back",
            lambda: self.visuals.step_back(),
            "Alt+Left",
            "Show an earlier snapshot of training in every panel",
        )
        self.action_forward = A(
            "Timeline &Forward",
            lambda: self.visuals.step_forward(),
            "Alt+Right",
            "Show a later snapshot of training in every panel",
        )
        self.action_live = A(
            "Follow &Live", lambda: self.visuals.follow_live(), "Alt+End", "Show training as it happens again"
        )
        self.action_reference = A(
            "&Layer Reference", self.show_layer_reference, SK.HelpContents, "What every layer type computes"
        )
        self.action_about = A("&About nnviz", self.show_about)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addActions([self.action_new, self.action_open])
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._rebuild_recent_menu)
        self.examples_menu = m.addMenu("&Examples")
        for name in preset_names():
            a = self.examples_menu.addAction(name)
            a.setObjectName(f"preset:{name}")
            a.triggered.connect(lambda _c=False, n=name: self.open_preset(n))
        m.addSeparator()
        m.addActions([self.action_save, self.action_save_as])
        m.addSeparator()
        m.addAction(self.action_quit)
        self.file_menu = m
        self._rebuild_recent_menu()

        m = mb.addMenu("&Edit")
        m.addActions([self.action_undo, self.action_redo])
        m.addSeparator()
        m.addActions([self.action_cut, self.action_copy, self.action_paste, self.action_delete])
        m.addSeparator()
        m.addActions([self.action_select_all, self.action_arrange])
        self.edit_menu = m

        m = mb.addMenu("&View")
        m.addActions([self.action_zoom_in, self.action_zoom_out, self.action_fit])
        m.addSeparator()
        for dock in (self.palette_dock, self.inspector_dock, self.settings_dock):
            m.addAction(dock.toggleViewAction())
        self.visuals_menu = m.addMenu("Training &panels")
        self.visuals_menu.addAction("(loading…)").setEnabled(False)
        self.view_menu = m

        m = mb.addMenu("&Train")
        m.addActions([self.action_train, self.action_pause, self.action_step, self.action_stop])
        self.speed_menu = m.addMenu("Spee&d")
        self.speed_group = QActionGroup(self)
        self.speed_actions = []
        for i, (text, value) in enumerate(SPEEDS):
            a = self.speed_menu.addAction(text)
            a.setCheckable(True)
            a.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            a.setStatusTip(
                "Train as fast as the machine can"
                if value is None
                else f"At most {value} training step{'s' if value != 1 else ''} between two pictures, "
                "to watch learning happen"
            )
            a.triggered.connect(lambda _checked=False, v=value: self.set_speed(v))
            self.speed_group.addAction(a)
            self.speed_actions.append(a)
        m.addSeparator()
        m.addActions([self.action_back, self.action_forward, self.action_live])
        m.addSeparator()
        m.addAction(self.action_reset)
        self.train_menu = m

        m = mb.addMenu("&Help")
        m.addActions([self.action_reference, self.action_about])
        self.help_menu = m

    def _build_toolbar(self) -> None:
        tb = self.addToolBar("Main")
        tb.setObjectName("MainToolBar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.setMovable(False)
        tb.addActions([self.action_new, self.action_open, self.action_save])
        tb.addSeparator()
        tb.addActions([self.action_undo, self.action_redo])
        tb.addSeparator()
        tb.addActions(
            [self.action_train, self.action_pause, self.action_step, self.action_stop, self.action_reset]
        )
        self.speed_box = QComboBox()
        self.speed_box.setObjectName("speedBox")
        self.speed_box.setToolTip(
            "Training speed: full speed, or a few steps between pictures to watch it learn (changes live)"
        )
        for text, value in SPEEDS:
            self.speed_box.addItem(text, value)
        self.speed_box.activated.connect(lambda i: self.set_speed(SPEEDS[i][1]))
        tb.addWidget(self.speed_box)
        tb.addSeparator()
        tb.addActions([self.action_arrange, self.action_fit])
        self.toolbar = tb
        # The timeline runs along the bottom, above the status bar, as wide as the window.
        tl = QToolBar("Timeline")
        tl.setObjectName("TimelineToolBar")
        tl.setMovable(False)
        tl.addWidget(self.visuals.timeline)
        self.addToolBar(Qt.ToolBarArea.BottomToolBarArea, tl)
        self.timeline_toolbar = tl
        self.view_menu.addAction(tl.toggleViewAction())
        self.set_speed(self._saved_speed())
        self.view_menu.addAction(tb.toggleViewAction())
        train_button = tb.widgetForAction(self.action_train)
        if train_button is not None:
            train_button.setObjectName("trainButton")
            f = train_button.font()
            f.setBold(True)
            train_button.setFont(f)

    # ================================================================ the document

    def set_document(self, doc: ProjectDocument) -> None:
        """Show ``doc`` in every panel; the old document (and any training run) is dropped."""
        old = self.document
        if old is doc:
            return
        if self.bridge.active:
            self.bridge.shutdown(2.0)
        if old is not None:
            for sig, slot in self._document_connections(old):
                try:
                    sig.disconnect(slot)
                except (RuntimeError, TypeError):
                    pass
            self.undo_group.removeStack(old.undo_stack)
        self.document = doc
        if doc.parent() is None:
            doc.setParent(self)
        self.undo_group.addStack(doc.undo_stack)
        self.undo_group.setActiveStack(doc.undo_stack)
        for sig, slot in self._document_connections(doc):
            sig.connect(slot)
        if old is not None:
            self.editor.set_document(doc)
        self.inspector.set_document(doc)
        self.settings_panel.set_document(doc)
        self.bridge.set_document(doc)
        self.visuals.set_document(doc)
        self.inspector.set_selection([])
        self._autosaved_index = -1
        self._show_idle_status()
        self._update_title()
        self._update_actions()
        self.document_changed.emit(doc)
        if old is not None and old.parent() is self:
            old.deleteLater()

    def _document_connections(self, doc: ProjectDocument):
        return [
            (doc.modified_changed, self._on_document_modified_changed),
            (doc.path_changed, self._on_document_path_changed),
            (doc.analysis_changed, self._on_document_analysis_changed),
            (doc.refused, self._on_document_refused),
            (doc.settings_changed, self._on_document_settings_changed),
        ]

    def _on_document_modified_changed(self, modified: bool) -> None:
        self.setWindowModified(modified)

    def _on_document_path_changed(self, path) -> None:
        self._update_title()

    def _on_document_analysis_changed(self, analysis) -> None:
        self._update_actions()

    def _on_document_settings_changed(self) -> None:
        self._update_actions()

    def _on_document_refused(self, reason: str) -> None:
        self.statusBar().showMessage(reason, 8000)

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.document.title}[*] — nnviz")
        self.setWindowModified(self.document.modified)

    def problem_text(self) -> str:
        """The first problem that keeps the network from training, or ""."""
        msgs = self.document.analysis.messages(self.document.network)
        return msgs[0] if msgs else ""

    def _update_actions(self) -> None:
        doc, b = self.document, self.bridge
        problem = self.problem_text()
        active, paused = b.active, b.paused
        running = active and not paused
        can_start = not problem
        self.action_train.setEnabled((not active and can_start) or paused)
        self.action_train.setText("&Resume" if paused else "&Train")
        if problem and not active:
            tip = f"Cannot train yet: {problem}"
        elif paused:
            tip = "Resume training (F5)"
        elif running:
            tip = "Training is running"
        else:
            tip = "Train the network (F5)"
        self.action_train.setToolTip(tip)
        self.action_train.setStatusTip(tip)
        self.action_pause.setEnabled(running)
        self.action_step.setEnabled(paused or (not active and can_start))
        self.action_stop.setEnabled(active)
        self.action_reset.setEnabled(active or b.result is not None or b.last_progress is not None)
        n = len(doc.analysis.problems)
        if n:
            short = problem if len(problem) < 90 else problem[:87] + "…"
            self.problem_label.setText(f"⚠ {n} problem{'s' if n != 1 else ''}: {short}")
            self.problem_label.setStyleSheet("color: #c62828;")
            self.problem_label.setToolTip("\n".join(doc.analysis.messages(doc.network)))
        else:
            params = doc.analysis.total_params
            self.problem_label.setText(f"✔ Ready · {params:,} parameters")
            self.problem_label.setStyleSheet("color: #2e7d32;")
            self.problem_label.setToolTip("The network is valid and can be trained.")

    # ================================================================ files

    def maybe_save(self) -> bool:
        """Before losing unsaved changes: ask Save / Discard / Cancel. False means: do not go on."""
        if self.document is None or not self.document.modified:
            return True
        answer = QMessageBox.warning(
            self,
            "Unsaved changes",
            f"“{self.document.title}” has unsaved changes.\nSave them before closing it?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def new_document(self) -> bool:
        if not self.maybe_save():
            return False
        self.set_document(ProjectDocument(new_project()))
        self.banner.hide()
        QTimer.singleShot(0, self.editor.fit_to_view)
        return True

    def open_file(self, path: str | Path | None = None) -> bool:
        """Open a project file; with no path, ask for one. False if nothing was opened."""
        if not self.maybe_save():
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Open a project", self._last_dir(), FILE_FILTER)
            if not path:
                return False
        try:
            doc = ProjectDocument.open(path)
        except ProjectError as exc:
            self.show_error(str(exc))
            return False
        self.set_document(doc)
        self.banner.hide()
        self._add_recent(Path(path))
        QTimer.singleShot(0, self.editor.fit_to_view)
        return True

    def open_preset(self, name: str) -> bool:
        """Open an example as a new, unsaved project."""
        if not self.maybe_save():
            return False
        try:
            project = load_preset(name)
        except ProjectError as exc:
            self.show_error(str(exc))
            return False
        self.set_document(ProjectDocument(project))
        self.banner.hide()
        if project.description:
            self.statusBar().showMessage(project.description, 15000)
        QTimer.singleShot(0, self.editor.fit_to_view)
        return True

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self, path: str | Path | None = None) -> bool:
        """Save under a new name; with no path, ask for one."""
        if path is None:
            start = str(Path(self._last_dir()) / f"{_file_stem(self.document.title)}.json")
            path, _ = QFileDialog.getSaveFileName(self, "Save the project as", start, FILE_FILTER)
            if not path:
                return False
            if not Path(path).suffix:
                path += ".json"
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        try:
            self.document.save(path)
        except ProjectError as exc:
            self.show_error(str(exc))
            return False
        self._add_recent(path)
        self.statusBar().showMessage(f"Saved {path}", 5000)
        self._update_title()
        return True

    def _last_dir(self) -> str:
        return str(self.settings.value("last_dir", str(Path.home())))

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):  # QSettings gives a lone string for a one-item list
            value = [value]
        return [str(v) for v in (value or [])]

    def _add_recent(self, path: Path) -> None:
        path = str(Path(path).resolve())
        files = [path] + [f for f in self.recent_files() if f != path]
        self.settings.setValue("recent_files", files[:MAX_RECENT])
        self.settings.setValue("last_dir", str(Path(path).parent))
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for i, f in enumerate(files):
            a = self.recent_menu.addAction(f"&{i + 1} {Path(f).name}")
            a.setToolTip(f)
            a.setStatusTip(f)
            a.triggered.connect(lambda _c=False, p=f: self.open_file(p))
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear the list", self._clear_recent)
        else:
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def _clear_recent(self) -> None:
        self.settings.setValue("recent_files", [])
        self._rebuild_recent_menu()

    # ---- autosave and recovery

    def autosave_now(self) -> bool:
        """Write a modified document to the autosave file (only when it changed since)."""
        doc = self.document
        if doc is None or not doc.modified or doc.undo_stack.index() == self._autosaved_index:
            return False
        try:
            doc.project.save(self.autosave_path)
        except ProjectError:
            return False  # autosave is a courtesy; never interrupt the user for it
        self._autosaved_index = doc.undo_stack.index()
        self.settings.setValue("autosave/source", str(doc.path) if doc.path else "")
        return True

    def begin_session(self) -> bool:
        """At start-up: offer to recover the autosave of a run that did not exit cleanly.

        Returns True when a document was recovered. Marks this run as not yet closed cleanly.
        """
        recovered = False
        crashed = self.settings.value("session/clean_exit", True) in (False, "false")
        if crashed and self.autosave_path.is_file():
            answer = QMessageBox.question(
                self,
                "Recover unsaved work?",
                "nnviz did not close properly last time. Recover the unsaved changes it kept?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.Yes,
            )
            if answer == QMessageBox.StandardButton.Yes:
                recovered = self._recover()
        self.settings.setValue("session/clean_exit", False)
        self.settings.sync()
        return recovered

    def _recover(self) -> bool:
        try:
            project = Project.load(self.autosave_path)
        except ProjectError as exc:
            self.show_error(f"The autosaved work could not be read: {exc}")
            return False
        source = str(self.settings.value("autosave/source", "") or "")
        doc = ProjectDocument(project, source or None)
        doc.undo_stack.resetClean()  # recovered work is unsaved work
        self.set_document(doc)
        self.banner.show_message(
            "Recovered the work nnviz kept before it closed unexpectedly. Save it to keep it.", "info"
        )
        return True

    def _end_session(self) -> None:
        self.autosave_path.unlink(missing_ok=True)
        self.settings.setValue("session/clean_exit", True)

    # ================================================================ visualisation docks

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if not self._visuals_scheduled and not self.visuals.is_built:
            self._visuals_scheduled = True
            handle = self.windowHandle()
            if handle is not None:
                handle.installEventFilter(self)
            else:
                QTimer.singleShot(0, self._after_first_frame)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Expose and obj is self.windowHandle() and obj.isExposed():
            obj.removeEventFilter(self)
            # Two turns of the event loop: the first frame is painted and pending input
            # handled before the panels are built.
            QTimer.singleShot(0, self._after_first_frame)
        return super().eventFilter(obj, event)

    def _after_first_frame(self) -> None:
        QTimer.singleShot(0, self._build_visuals_if_shown)

    def _build_visuals_if_shown(self) -> None:
        if self.isVisible():
            self.build_visuals()

    def build_visuals(self) -> None:
        """Create the panel docks now (normally done just after the window first appears)."""
        if self.visuals.is_built:
            return
        self.visuals.build()
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
            self.visuals.update_applicable()

    # ================================================================ window state

    def _restore_window_state(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)

    def _save_window_state(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if not self.maybe_save():
            event.ignore()
            return
        self._autosave_timer.stop()
        self.bridge.shutdown(2.0)
        self.visuals.close()
        self.settings_panel.setEnabled(False)
        if self._reference is not None:
            self._reference.close()
        self._save_window_state()
        self._end_session()
        self.settings.sync()
        event.accept()

    # ================================================================ training

    def train(self) -> None:
        """Train (or resume) the network as it is now; later edits do not reach the run."""
        b = self.bridge
        if b.active:
            if b.paused:
                self.visuals.follow_live()
                b.resume()
            return
        problem = self.problem_text()
        if problem:
            self.statusBar().showMessage(f"Cannot train yet: {problem}", 8000)
            return
        self._start(paused=False)

    def _start(self, paused: bool) -> None:
        project = self.document.snapshot_project()
        self._run_config = project.training
        self.banner.hide()
        self.status_label.setText("Starting…")
        self.progress_bar.setRange(0, 0)
        self.progress_bar.show()
        self.bridge.start(project, self.data_dir, download=self.download, paused=paused, **LIVE_SESSION)

    def pause(self) -> None:
        self.bridge.pause()

    def _saved_speed(self) -> int | None:
        value = self.settings.value("training/speed", 0)
        try:
            value = int(value)
        except (TypeError, ValueError):
            value = 0
        return value if value in [v for _, v in SPEEDS if v] else None

    @property
    def speed(self) -> int | None:
        return self.bridge.speed

    def set_speed(self, steps_per_frame: int | None) -> None:
        """Full speed (None) or at most this many steps per frame; live, and remembered."""
        values = [v for _, v in SPEEDS]
        if steps_per_frame not in values:
            raise ValueError(f"unknown speed {steps_per_frame!r}")
        self.bridge.set_speed(steps_per_frame)
        i = values.index(steps_per_frame)
        self.speed_box.setCurrentIndex(i)
        self.speed_actions[i].setChecked(True)
        self.settings.setValue("training/speed", steps_per_frame or 0)
        if self.bridge.active:
            self.statusBar().showMessage(f"Speed: {SPEEDS[i][0]} (live)", 4000)

    def step(self) -> None:
        self.visuals.follow_live()  # the step's result is what the user wants to see
        b = self.bridge
        if not b.active:
            if self.problem_text():
                return
            self._start(paused=True)
        b.step(1)

    def stop(self) -> None:
        if self.bridge.active:
            self.status_label.setText("Stopping…")
            self.bridge.stop()

    def reset(self) -> None:
        self.bridge.reset()
        self._show_idle_status()
        self.statusBar().showMessage("Reset: the next Train starts from fresh weights.", 5000)
        self._update_actions()

    def _show_idle_status(self) -> None:
        self.status_label.setText("Ready")
        self.progress_bar.hide()
        self.cancel_button.hide()

    def _on_cancel_button_clicked(self) -> None:
        self.bridge.stop()
        self.status_label.setText("Cancelling the download…")

    def _on_bridge_loading(self, what: str, done: int, total: int) -> None:
        downloading = what.startswith("Downloading")
        self.cancel_button.setVisible(downloading)
        self.progress_bar.show()
        if total > 0:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(1000 * done / total))
            self.progress_bar.setFormat(f"{done / 1e6:.1f} / {total / 1e6:.1f} MB")
        else:
            self.progress_bar.setRange(0, 0)
        self.status_label.setText(
            f"{what}…" + (f" {done / 1e6:.1f} MB" if downloading and total <= 0 and done else "")
        )

    def _on_bridge_compiling(self, what: str) -> None:
        self.cancel_button.hide()
        self.progress_bar.setRange(0, 0)
        self.progress_bar.show()
        self.status_label.setText(f"Compiling {what}…")

    def _on_bridge_state_changed(self, state: str) -> None:
        if state == "paused":
            p = self.bridge.last_progress
            self.status_label.setText(f"Paused · {self._metrics_text(p)}" if p else "Paused")
        self._update_actions()

    def _on_bridge_active_changed(self, active: bool) -> None:
        self._update_actions()

    def _metrics_text(self, p) -> str:
        cfg = self._run_config
        epochs = f"/{cfg.epochs}" if cfg is not None and not cfg.max_steps else ""
        text = (
            f"Epoch {p.epoch}{epochs} · step {p.step:,}/{p.total_steps:,} · loss {p.train_loss:.4f}"
            f" · accuracy {100 * p.train_accuracy:.1f} %"
        )
        e = self.bridge.last_epoch
        if e is not None and not math.isnan(e.test_accuracy):
            text += f" · test accuracy {100 * e.test_accuracy:.1f} %"
        return text

    def _on_bridge_progress(self, p) -> None:
        self.cancel_button.hide()
        self.progress_bar.show()
        self.progress_bar.setRange(0, max(1, p.total_steps))
        self.progress_bar.setValue(p.step)
        self.progress_bar.setFormat("%p %")
        prefix = "Paused · " if self.bridge.paused else ""
        self.status_label.setText(prefix + self._metrics_text(p))

    def _on_bridge_epoch_ended(self, e) -> None:
        p = self.bridge.last_progress
        if p is not None:
            self.status_label.setText(self._metrics_text(p))

    def _on_bridge_finished(self, f) -> None:
        self.cancel_button.hide()
        m = f.metrics
        acc = m.get("test_accuracy", math.nan)
        acc_text = (
            f", test accuracy {100 * acc:.1f} %" if isinstance(acc, float) and not math.isnan(acc) else ""
        )
        verb = "Stopped" if f.reason == "stopped" else "Finished"
        self.status_label.setText(f"{verb} after {f.step:,} steps ({f.seconds:.1f} s){acc_text}")
        if f.reason == "completed":
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(1)
        else:
            self.progress_bar.hide()

    def _on_bridge_failed(self, f) -> None:
        self.cancel_button.hide()
        self.progress_bar.hide()
        self.status_label.setText("Training failed")
        self.statusBar().showMessage(f.reason.splitlines()[0], 15000)
        self.show_error(f.reason)

    def _on_settings_learning_rate_changed(self, lr: float) -> None:
        if self.bridge.active:
            reason = self.bridge.set_learning_rate(lr)
            self.statusBar().showMessage(reason or f"Learning rate is now {lr:g} (live)", 5000)

    def _on_settings_import_finished(self, error: str) -> None:
        if error:
            self.show_error(error)
        else:
            ctx = self.document.context
            self.statusBar().showMessage(
                f"Imported {Path(self.document.project.dataset.path).name}: samples of "
                f"{shape_text(ctx.input_shape)} in {ctx.n_classes} classes",
                8000,
            )

    # ================================================================ panels

    def _on_editor_selection_changed(self, ids: list) -> None:
        self.inspector.set_selection(list(ids))

    def _on_editor_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _on_palette_layer_activated(self, type_name: str) -> None:
        view = self.editor.view
        centre = view.mapToScene(view.viewport().rect().center())
        node = self.document.add_node(type_name, (centre.x(), centre.y()))
        if node is not None:
            self.editor.select_nodes([node.id])

    def _on_panel_edited(self, reason: str) -> None:
        if reason:
            self.statusBar().showMessage(reason, 8000)

    def show_error(self, text: str) -> None:
        """A failure the user should read, without blocking the window."""
        self.banner.show_message(text, "error")

    def show_layer_reference(self) -> None:
        if self._reference is None:
            self._reference = LayerReferenceDialog(self)
        self._reference.show()
        self._reference.raise_()

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About nnviz",
            "<h3>nnviz</h3><p>Build a neural network by drag and drop and watch it learn.</p>"
            f"<p>Optimizers: {', '.join(o.title for o in OPTIMIZERS.values())}.</p>"
            "<p>Training runs with JAX in a process of its own, so the window stays responsive.</p>",
        )


def _file_stem(title: str) -> str:
    stem = "".join(c if c.isalnum() or c in "-_ " else "" for c in title).strip().replace(" ", "-")
    return (stem or "untitled").lower()[:40]


def running_session_threads() -> int:
    """How many training threads are still alive (for a quick exit at shutdown)."""
    import threading

    return sum(1 for t in threading.enumerate() if t.name == "nnviz-training" and t.is_alive())
