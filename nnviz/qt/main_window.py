"""The main window: the network editor in the middle, palette, inspector and settings around it.

The window owns one ProjectDocument at a time and one SessionBridge. It wires the
panels to the document, turns menu and toolbar actions into document edits or session
commands, and keeps the title, the Train action and the status bar truthful.

It is made of parts in ``nnviz/qt/window/``: its actions, menus and toolbar
(``menus``), project files, recent files and autosave (``files``), the status bar
(``status``), the message banner (``banner``) and the layer reference (``layer_reference``).
The training panels below the diagram are ``nnviz.qt.visuals``'s.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QSettings, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QUndoGroup
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from ..core.layers import shape_text
from ..core.optimizers import OPTIMIZERS
from ..core.presets import load_preset
from ..core.project import Project, ProjectError
from ..engine.options import SessionOptions
from .bridge import SessionBridge
from .document import ProjectDocument
from .editor import NetworkEditor
from .inspector import NodeInspector
from .palette import LayerPalette
from .settings_panel import TrainingSettingsPanel
from .visuals import VisualsController
from .window.banner import MessageBanner
from .window.files import AUTOSAVE_MS, FILE_FILTER, ProjectFiles, file_stem, new_project
from .window.layer_reference import LayerReferenceDialog
from .window.menus import SPEEDS, build_actions, build_menus, build_toolbar
from .window.runs import (
    WEIGHTS_FILTER,
    fits,
    last_epoch_of,
    read_state,
    target_reached,
    weights_path_for,
    write_state,
)
from .window.status import TrainingStatus

# A run started from the window: short chunks and frequent snapshots, so the panels
# animate at 30 Hz or more instead of jumping five times a second. Every chunk brings a
# snapshot (the interval is counted from the last one's start), and a chunk of 25 ms
# with its report comes every ~28 ms (at 30 ms, every ~33: 30 a second at best).
# path_points: the session records the weights of every snapshot it makes for the loss
# surface's path; a toy run of 4,650 steps in 1.5 s left only 2-12 in the window's history.
LIVE_SESSION = SessionOptions(chunk_seconds=0.025, snapshot_interval=0.025, path_points=240)
MORE_EPOCHS = 5  # what Train > Train N More Epochs offers first
RESET_MESSAGE = "Reset: the next Train starts from new random weights"


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
        self.files = ProjectFiles(self.settings, autosave_dir)
        self.data_dir = data_dir
        self.download = download
        self.document: ProjectDocument | None = None
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

        self.status = TrainingStatus(self.statusBar(), self.bridge)
        # the status bar's widgets, by the names tests and scripts know them
        self.status_label, self.progress_bar = self.status.status_label, self.status.progress_bar
        self.cancel_button, self.problem_label = self.status.cancel_button, self.status.problem_label
        build_actions(self)
        build_menus(self)
        build_toolbar(self)
        self.set_speed(self._saved_speed())

        # ---- signals that do not depend on the document
        self.editor.selection_changed.connect(self._on_editor_selection_changed)
        self.editor.message.connect(self._on_editor_message)
        self.palette_widget.layer_activated.connect(self._on_palette_layer_activated)
        self.inspector.edited.connect(self._on_panel_edited)
        self.settings_panel.edited.connect(self._on_panel_edited)
        self.settings_panel.learning_rate_changed.connect(self._on_settings_learning_rate_changed)
        self.settings_panel.import_finished.connect(self._on_settings_import_finished)
        b = self.bridge  # the status bar follows the bridge itself
        b.state_changed.connect(self._on_bridge_state_changed)
        b.failed.connect(self._on_bridge_failed)
        b.active_changed.connect(self._on_bridge_active_changed)
        self._restoring = False  # the current session only shows a state read from a file

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

    # ================================================================ the document

    def set_document(self, doc: ProjectDocument) -> None:
        """Show ``doc`` in every panel; the old document (and any training run) is dropped."""
        old = self.document
        if old is doc:
            return
        if self.bridge.active:
            self.bridge.shutdown(2.0)
        self.bridge.forget_run()  # a kept run belongs to the document it trained
        if old is not None:
            old.before_edit = None
            for sig, slot in self._document_connections(old):
                try:
                    sig.disconnect(slot)
                except (RuntimeError, TypeError):
                    pass
            self.undo_group.removeStack(old.undo_stack)
        self.document = doc
        doc.before_edit = self._confirm_edit
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
        self.files.forget_autosave()
        self.status.show_idle()
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
        kept = self.kept_state()
        self.action_train.setEnabled((not active and can_start) or paused)
        self.action_train.setText("&Resume" if paused else "&Train")
        if problem and not active:
            tip = f"Cannot train yet: {problem}"
        elif paused:
            tip = "Resume training (F5)"
        elif running:
            tip = "Training is running"
        elif kept is not None and target_reached(kept, doc.project):
            tip = f"The run has trained its {self._target_text(kept)}: train more epochs from step {kept.step:,} (F5)"
        elif kept is not None:
            tip = f"Go on training from step {kept.step:,} (F5)"
        else:
            tip = "Train the network from new random weights (F5)"
        self.action_train.setToolTip(tip)
        self.action_train.setStatusTip(tip)
        self.action_train_more.setEnabled(not active and can_start and kept is not None)
        self.action_pause.setEnabled(running)
        self.action_step.setEnabled(paused or (not active and can_start))
        self.action_stop.setEnabled(active)
        self.action_reset.setEnabled(
            active or b.run_state is not None or b.result is not None or b.last_progress is not None
        )
        self.action_export_weights.setEnabled(not active and b.run_state is not None)
        self.action_import_weights.setEnabled(not active)
        self.status.show_network(doc, problem)

    # ================================================================ files

    def maybe_save(self) -> bool:
        """Before losing unsaved edits or an unsaved trained run: ask Save / Discard / Cancel.

        False means: do not go on. A run trained since the last save is unsaved work too,
        and so is a run still training (Save stops it first, to keep where it got to).
        """
        if self.document is None:
            return True
        edits, run = self.document.modified, self.bridge.unsaved_run
        if not edits and not run:
            return True
        title = self.document.title
        if run:
            step = self._run_step()
            what = f"a trained run (step {step:,}) that is not saved"
            text = f"“{title}” has {'unsaved changes and ' if edits else ''}{what}.\nSave before closing it?"
        else:
            text = f"“{title}” has unsaved changes.\nSave them before closing it?"
        answer = QMessageBox.warning(
            self,
            "Unsaved work",
            text,
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            if self.bridge.active:
                self.bridge.shutdown(2.0)  # the run ends where it got to, and leaves its state
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def _run_step(self) -> int:
        b = self.bridge
        if b.active and b.last_progress is not None:
            return b.last_progress.step
        return b.run_state.step if b.run_state is not None else 0

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
            path, _ = QFileDialog.getOpenFileName(self, "Open a project", self.files.last_dir(), FILE_FILTER)
            if not path:
                return False
        return self.load_file(path)

    def load_file(self, path: str | Path) -> bool:
        """Open ``path`` without asking anything, with the trained run saved beside it; a
        file that cannot be opened leaves the current document and says why."""
        try:
            doc = ProjectDocument.open(path)
        except ProjectError as exc:
            self.show_error(str(exc))
            return False
        self.set_document(doc)
        self.banner.hide()
        self.add_recent(Path(path))
        self._restore_saved_run(Path(path))
        QTimer.singleShot(0, self.editor.fit_to_view)
        return True

    def _restore_saved_run(self, path: Path) -> None:
        """The trained state saved beside the project, when there is one and it fits; else a message."""
        from ..engine.weights import WeightsError

        weights = weights_path_for(path)
        if not weights.exists():
            return
        try:
            state = read_state(weights, self.document.project)
        except WeightsError as exc:
            self.show_error(f"The project opened untrained: {exc}")
            return
        self.bridge.keep_run(state, saved=True)
        self._show_kept_run()

    def _show_kept_run(self) -> None:
        """A session that trains no step from the kept state, so every panel shows the trained network."""
        state = self.bridge.run_state
        if state is None or self.problem_text():
            self._update_actions()
            return
        self.bridge.last_epoch = last_epoch_of(state)
        project = self.document.snapshot_project().with_training(max_steps=max(1, state.step))
        self._start(paused=False, resume=state, project=project, restoring=True)

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
            start = str(Path(self.files.last_dir()) / f"{file_stem(self.document.title)}.json")
            path, _ = QFileDialog.getSaveFileName(self, "Save the project as", start, FILE_FILTER)
            if not path:
                return False
            if not Path(path).suffix:
                path += ".json"
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        """The project, and the trained run beside it when there is one (each written atomically)."""
        state = self.bridge.run_state
        weights = weights_path_for(path)
        try:
            if state is not None:
                write_state(weights, state)
            self.document.save(path)
        except ProjectError as exc:  # WeightsError too
            self.show_error(str(exc))
            return False
        if state is not None and self.bridge.run_state is state:
            self.bridge.run_saved = True
        self.add_recent(path)
        extra = (
            f" and the trained weights (step {state.step:,}) in {weights.name}" if state is not None else ""
        )
        self.statusBar().showMessage(f"Saved {path}{extra}", 5000)
        self._update_title()
        return True

    def import_weights(self, path: str | Path | None = None) -> bool:
        """Go on from a trained state saved in a file (it must fit this network and its settings)."""
        from ..engine.weights import WeightsError

        if self.bridge.active:
            self.statusBar().showMessage("Stop training before importing weights.", 8000)
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self, "Import weights", self.files.last_dir(), WEIGHTS_FILTER
            )
            if not path:
                return False
        if self.bridge.unsaved_run and not self._ask_discard_run("Importing weights"):
            return False
        try:
            state = read_state(path, self.document.project)
        except WeightsError as exc:
            self.show_error(f"Weights not imported: {exc}")
            return False
        self.banner.hide()
        self.bridge.reset()
        self.bridge.keep_run(state, saved=False)
        self.statusBar().showMessage(
            f"Imported the weights of step {state.step:,} from {Path(path).name}", 8000
        )
        self._show_kept_run()
        return True

    def export_weights(self, path: str | Path | None = None) -> bool:
        """Write the trained state to a file of the user's choosing."""
        state = self.bridge.run_state
        if state is None:
            self.statusBar().showMessage("There are no trained weights to export yet: train first.", 8000)
            return False
        if path is None:
            stem = self.document.path.stem if self.document.path else file_stem(self.document.title)
            start = str(weights_path_for(Path(self.files.last_dir()) / f"{stem}.json"))
            path, _ = QFileDialog.getSaveFileName(self, "Export weights", start, WEIGHTS_FILTER)
            if not path:
                return False
        try:
            write_state(path, state)
        except ProjectError as exc:
            self.show_error(str(exc))
            return False
        self.statusBar().showMessage(f"Exported the weights of step {state.step:,} to {path}", 8000)
        return True

    @property
    def autosave_path(self) -> Path:
        return self.files.autosave_path

    def recent_files(self) -> list[str]:
        return self.files.recent()

    def add_recent(self, path: Path) -> None:
        self.files.add_recent(path)
        self.rebuild_recent_menu()

    def rebuild_recent_menu(self) -> None:
        self.files.fill_recent_menu(self.recent_menu, self.open_file, self._on_recent_cleared)

    def _on_recent_cleared(self) -> None:
        self.files.clear_recent()
        self.rebuild_recent_menu()

    # ---- autosave and recovery

    def autosave_now(self) -> bool:
        """Write a modified document to the autosave file (only when it changed since)."""
        return self.files.autosave(self.document)

    def begin_session(self) -> bool:
        """At start-up: offer to recover the autosave of a run that did not exit cleanly.

        Returns True when a document was recovered. Marks this run as not yet closed cleanly.
        """
        recovered = False
        if self.files.crashed_with_work():
            answer = QMessageBox.question(
                self,
                "Recover unsaved work?",
                "nnviz did not close properly last time. Recover the unsaved changes it kept?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.Yes,
            )
            if answer == QMessageBox.StandardButton.Yes:
                recovered = self._recover()
        self.files.begin_session()
        return recovered

    def _recover(self) -> bool:
        try:
            doc = self.files.recovered_document()
        except ProjectError as exc:
            self.show_error(f"The autosaved work could not be read: {exc}")
            return False
        self.set_document(doc)
        self.banner.show_message(
            "Recovered the work nnviz kept before it closed unexpectedly. Save it to keep it.", "info"
        )
        return True

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
        self.files.end_session()
        self.settings.sync()
        event.accept()

    # ================================================================ training

    def train(self) -> None:
        """Train (or resume) the network as it is now; later edits do not reach the run.

        A kept run (stopped, finished, or opened with the project) goes on from where it
        got to; one that has trained all its epochs asks how many more.
        """
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
        state = self.kept_state()
        if state is not None and target_reached(state, self.document.project):
            self.train_more()
            return
        self._start(paused=False, resume=state)

    def train_more(self, epochs: int | None = None) -> bool:
        """Train a kept run ``epochs`` more epochs (asked for when None); False if nothing started."""
        state = self.kept_state()
        if self.bridge.active or state is None or self.problem_text():
            return False
        if epochs is None:
            epochs, ok = QInputDialog.getInt(
                self,
                "Train more epochs",
                f"The run has trained {self._target_text(state)} (step {state.step:,}).\n"
                "How many more epochs should it train?",
                MORE_EPOCHS,
                1,
                100_000,
            )
            if not ok:
                return False
        target = state.epoch + max(1, int(epochs))
        self._start(paused=False, resume=state, epochs=target)
        return True

    def kept_state(self):
        """The run state the next Train goes on from, or None (a fresh start)."""
        state = self.bridge.run_state
        return state if state is not None and fits(state, self.document.project) else None

    @staticmethod
    def _target_text(state) -> str:
        return f"{state.epoch} epoch{'s' if state.epoch != 1 else ''}"

    def _start(
        self,
        paused: bool,
        resume=None,
        *,
        epochs: int | None = None,
        project: Project | None = None,
        restoring: bool = False,
    ) -> None:
        project = project or self.document.snapshot_project()
        if epochs is not None:
            project = project.with_training(epochs=epochs, max_steps=0)
        self._restoring = restoring
        self.status.restoring = restoring
        self.status.run_config = project.training
        self.banner.hide()
        self.status_label.setText("Starting…" if resume is None else f"Going on from step {resume.step:,}…")
        self.progress_bar.setRange(0, 0)
        self.progress_bar.show()
        self.bridge.start(
            project, self.data_dir, download=self.download, paused=paused, options=LIVE_SESSION, resume=resume
        )

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
            state = self.kept_state()
            done = state is not None and target_reached(state, self.document.project)
            self._start(paused=True, resume=state, epochs=state.epoch + 1 if done else None)
        b.step(1)

    def stop(self) -> None:
        if self.bridge.active:
            self.status_label.setText("Stopping…")
            self.bridge.stop()

    def reset(self) -> None:
        """Forget the run: the only way to start over from new random weights."""
        self.bridge.reset()
        self.status.show_idle()
        self.statusBar().showMessage(RESET_MESSAGE, 8000)
        self._update_actions()

    def _confirm_edit(self, after: Project) -> bool:
        """The document asks before every edit: one that discards a kept run asks the user first."""
        b = self.bridge
        trained = b.run_project if b.active else b.run_state
        if trained is None:
            return True
        try:
            if b.active:
                from .window.runs import fingerprint

                if fingerprint(after) == fingerprint(b.run_project):
                    return True
            elif fits(b.run_state, after):
                return True
        except Exception:  # a project the fingerprint cannot read: the edit's own check refuses it
            return True
        if not self._ask_discard_run("This edit"):
            return False
        self.reset()
        self.statusBar().showMessage(f"The trained weights were discarded. {RESET_MESSAGE}.", 8000)
        return True

    def _ask_discard_run(self, what: str) -> bool:
        answer = QMessageBox.question(
            self,
            "Discard the trained weights?",
            f"{what} discards the trained weights (step {self._run_step():,}). Continue?",
            QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Ok

    def _on_bridge_state_changed(self, state: str) -> None:
        self._update_actions()

    def _on_bridge_active_changed(self, active: bool) -> None:
        if not active:
            from ..engine.messages import Failed

            if self._restoring and isinstance(self.bridge.result, Failed):
                self.bridge.forget_run()
            self._restoring = False
        self._update_actions()

    def _on_bridge_failed(self, f) -> None:
        if self._restoring:  # the saved state did not fit after all: the project stays, untrained
            self.show_error(f"The project opened untrained: the saved weights could not be used: {f.reason}")
        else:
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


def running_session_threads() -> int:
    """How many training threads are still alive (for a quick exit at shutdown)."""
    import threading

    return sum(1 for t in threading.enumerate() if t.name == "nnviz-training" and t.is_alive())
