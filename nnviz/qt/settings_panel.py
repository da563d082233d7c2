"""The training settings panel: which data, and how to train on it.

Every widget mirrors one field of the project's DatasetSpec or TrainingConfig; a change
goes through ``document.set_dataset`` / ``set_training`` (undoable) and a refused one is
undone on screen by refreshing from the document. The training rows are built from
``TRAINING_SETTINGS``, the table validation uses, and an edit writes only the setting that
was edited: the others keep the exact values the project holds. Imported files are read on a worker
thread with numpy only, to learn their shape; a QTimer collects the result.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core import datasets
from ..core.datasets import DatasetSpec
from ..core.optimizers import OPTIMIZERS
from ..core.project import INITIALIZERS, TRAINING_SETTINGS, TrainingConfig
from .document import ProjectDocument
from .number_box import NumberBox
from .wiring import rewire

INIT_TEXT = {
    "auto": "Automatic (He for ReLU, else Glorot)",
    "glorot_uniform": "Glorot uniform",
    "glorot_normal": "Glorot normal",
    "he_uniform": "He uniform",
    "he_normal": "He normal",
    "lecun_normal": "LeCun normal",
    "zeros": "All zeros (to see why not)",
}


class TrainingSettingsPanel(QWidget):
    """Dataset, split, batch size, epochs, optimizer, learning rate, initialisation, regularisation, seed."""

    learning_rate_changed = Signal(float)  # so a running session can follow live
    import_finished = Signal(str)  # "" on success, else the reason the files could not be read
    edited = Signal(str)  # a refused change's reason, or ""

    def __init__(self, document: ProjectDocument | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: ProjectDocument | None = None
        self._import_thread: threading.Thread | None = None
        self._import_result: tuple | None = None
        self._import_timer = QTimer(self)
        self._import_timer.setInterval(50)
        self._import_timer.timeout.connect(self._on_import_timer_timeout)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(8, 6, 8, 6)

        # ---- data
        data = QGroupBox("Data")
        df = QFormLayout(data)
        self.dataset = QComboBox()
        for name in datasets.names():  # the catalogue's order; "files" only once imported
            if datasets.entry(name).kind != "files":
                self._add_dataset_item(name)
        self.dataset.setToolTip(
            "What the network learns from. The toy sets are 2D points in two "
            "classes (as in TensorFlow Playground); the image sets are downloaded "
            "on first use. Each entry's tooltip says what it holds."
        )
        self.import_button = QToolButton()
        self.import_button.setText("Import…")
        self.import_button.setToolTip(
            "Train on your own data: a folder of IDX files, a Keras-style "
            ".npz (x_train, y_train, x_test, y_test) or a CSV whose first "
            "column is the label."
        )
        self.import_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.import_button)
        menu.addAction("Import from a file (.npz, .csv)…", self.choose_import_file)
        menu.addAction("Import from a folder of IDX files…", self.choose_import_folder)
        self.import_button.setMenu(menu)
        row = QHBoxLayout()
        row.addWidget(self.dataset, 1)
        row.addWidget(self.import_button)
        df.addRow("Dataset", row)
        self.path_label = QLabel()
        self.path_label.setWordWrap(True)
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        df.addRow("Files", self.path_label)
        self.data_boxes: dict[str, NumberBox] = {}
        for setting in datasets.DATASET_SETTINGS.values():
            box = NumberBox(setting)
            box.valueChanged.connect(partial(self._commit_dataset, setting.name))
            box.refused.connect(self.edited)
            self.data_boxes[setting.name] = box
            df.addRow(setting.title, box)
        boxes = self.data_boxes
        self.noise, self.samples, self.test_ratio = boxes["noise"], boxes["n_samples"], boxes["test_ratio"]
        self.data_seed, self.validation, self.train_limit = (
            boxes["seed"],
            boxes["validation_split"],
            boxes["train_limit"],
        )
        self.toy_rows = [self.noise, self.samples, self.data_seed]
        lay.addWidget(data)

        # ---- training: one row per TrainingConfig field, built from its Setting
        train = QGroupBox("Training")
        tf = QFormLayout(train)
        self.optimizer = QComboBox()
        for opt in OPTIMIZERS.values():
            self.optimizer.addItem(opt.title, opt.name)
            self.optimizer.setItemData(self.optimizer.count() - 1, opt.help, Qt.ItemDataRole.ToolTipRole)
        self.init = QComboBox()
        for name in INITIALIZERS:
            self.init.addItem(INIT_TEXT.get(name, name), name)
        self.training_boxes: dict[str, QComboBox | NumberBox] = {}
        for setting in TRAINING_SETTINGS.values():
            if setting.kind is str:
                box = {"optimizer": self.optimizer, "init": self.init}[setting.name]
                box.setToolTip(setting.help)
                box.activated.connect(partial(self._on_choice_activated, setting.name))
            else:
                box = NumberBox(setting)
                box.valueChanged.connect(partial(self._commit_training, setting.name))
                box.refused.connect(self.edited)
            self.training_boxes[setting.name] = box
            tf.addRow(setting.title, box)
        boxes = self.training_boxes
        self.learning_rate, self.momentum = boxes["learning_rate"], boxes["momentum"]
        self.batch_size, self.epochs, self.max_steps = (
            boxes["batch_size"],
            boxes["epochs"],
            boxes["max_steps"],
        )
        self.l1, self.l2, self.seed = boxes["l1"], boxes["l2"], boxes["seed"]
        self.defaults_button = QPushButton("Restore defaults")
        self.defaults_button.setToolTip("Set the training settings (not the data) to nnviz's defaults.")
        self.defaults_button.clicked.connect(self._on_defaults_button_clicked)
        tf.addRow("", self.defaults_button)
        lay.addWidget(train)
        lay.addStretch(1)
        for box in (self.dataset, self.optimizer, self.init):
            # Long item texts must not make the dock wide; the list pops up at full width.
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(6)

        self.dataset.activated.connect(self._on_dataset_activated)
        if document is not None:
            self.set_document(document)

    # ------------------------------------------------------------ wiring

    def set_document(self, document: ProjectDocument) -> None:
        old = self._connections() if self.document is not None else []
        self.document = document
        rewire(old, self._connections())
        self.refresh()

    def _connections(self):
        d = self.document
        return [(d.settings_changed, self.refresh), (d.lock_changed, self._on_document_lock_changed)]

    def _on_document_lock_changed(self, locked: bool) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Show the document's settings (after an undo, a refused edit, a new file)."""
        doc = self.document
        if doc is None:
            return
        ds, tr = doc.project.dataset, doc.project.training
        widgets = [self.dataset, *self.data_boxes.values(), *self.training_boxes.values()]
        for w in widgets:
            w.blockSignals(True)
        try:
            if ds.name in datasets.CATALOGUE and self.dataset.findData(ds.name) < 0:
                self._add_dataset_item(ds.name)
            self.dataset.setCurrentIndex(self.dataset.findData(ds.name))
            for name, box in self.data_boxes.items():
                value = getattr(ds, name)
                if box.setting.problem(value) is None:  # an image set's unused toy fields may lie outside
                    box.setValue(value)
            for name, box in self.training_boxes.items():
                value = getattr(tr, name)
                if isinstance(box, QComboBox):
                    box.setCurrentIndex(box.findData(value))
                else:
                    box.setValue(value)
        finally:
            for w in widgets:
                w.blockSignals(False)
        kind = datasets.entry(ds.name).kind if ds.name in datasets.CATALOGUE else None
        form = self.noise.parentWidget().layout()
        for w in self.toy_rows:
            form.setRowVisible(w, kind == "toy2d")
        form.setRowVisible(self.test_ratio, kind in ("toy2d", "files"))
        form.setRowVisible(self.path_label, kind == "files")
        self.path_label.setText(ds.path)
        self.momentum.setEnabled(tr.optimizer in OPTIMIZERS and OPTIMIZERS[tr.optimizer].uses("momentum"))
        locked = doc.training_lock
        for w in (self.dataset, self.import_button, *self.data_boxes.values()):
            w.setEnabled(not locked)
            if locked:
                w.setToolTip(w.toolTip().split("\n(Stop")[0] + "\n(Stop training to change the data.)")
            else:
                w.setToolTip(w.toolTip().split("\n(Stop")[0])

    def _add_dataset_item(self, name: str) -> None:
        """One catalogue entry in the dataset menu, its description as the item's tooltip."""
        e = datasets.entry(name)
        self.dataset.addItem(e.menu_text, name)
        self.dataset.setItemData(self.dataset.count() - 1, e.description, Qt.ItemDataRole.ToolTipRole)

    # ------------------------------------------------------------ edits

    def _on_dataset_activated(self, index: int) -> None:
        name = self.dataset.itemData(index)
        spec = self.document.project.dataset
        if name == spec.name:
            return
        self._set_dataset(replace(spec, name=name))

    def _commit_dataset(self, name: str, value) -> None:
        """Write the one data setting that was edited; the others stay as the project has them."""
        old = self.document.project.dataset
        if getattr(old, name) == value and type(getattr(old, name)) is type(value):
            return
        self._set_dataset(replace(old, **{name: value}))

    def _set_dataset(self, spec: DatasetSpec) -> None:
        reason = self.document.set_dataset(spec)
        if reason:
            self.refresh()
        self.edited.emit(reason or "")

    def _on_choice_activated(self, name: str, index: int) -> None:
        box = self.training_boxes[name]
        self._commit_training(name, box.itemData(index))

    def _commit_training(self, name: str, value) -> None:
        """Write the one setting that was edited; the others stay exactly as the project has them."""
        old = self.document.project.training
        if getattr(old, name) == value and type(getattr(old, name)) is type(value):
            return
        reason = self.document.set_training(replace(old, **{name: value}))
        if reason:
            self.refresh()
        elif name == "learning_rate":
            self.learning_rate_changed.emit(value)
        self.edited.emit(reason or "")

    def _on_defaults_button_clicked(self) -> None:
        reason = self.document.set_training(TrainingConfig())
        self.refresh()
        self.edited.emit(reason or "")

    # ------------------------------------------------------------ importing files

    def choose_import_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import a dataset", "", "Datasets (*.npz *.csv *.tsv *.txt);;All files (*)"
        )
        if path:
            self.import_path(path)

    def choose_import_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Import a folder of IDX files")
        if path:
            self.import_path(path)

    @property
    def importing(self) -> bool:
        return self._import_thread is not None

    def import_path(self, path: str | Path) -> None:
        """Read ``path`` on a worker thread; when it loads, the project uses it as its dataset."""
        if self.importing or self.document is None:
            return
        if self.document.training_lock:
            self.document.refused.emit("Stop training before changing the dataset.")
            return
        spec = replace(self.document.project.dataset, name="files", path=str(path))
        self._import_result = None

        def work() -> None:
            from ..core.datasets import DatasetError, load_dataset

            try:
                ds = load_dataset(spec, download=False)
                self._import_result = (spec, tuple(ds.input_shape), ds.n_classes, "")
            except DatasetError as exc:
                self._import_result = (spec, None, None, str(exc))
            except Exception as exc:  # a file we cannot parse must not kill the app
                self._import_result = (spec, None, None, f"{path} could not be read: {exc}")

        self.import_button.setEnabled(False)
        self.import_button.setText("Reading…")
        self._import_thread = threading.Thread(target=work, name="nnviz-import", daemon=True)
        self._import_thread.start()
        self._import_timer.start()

    def _on_import_timer_timeout(self) -> None:
        if self._import_thread is None or self._import_thread.is_alive():
            return
        self._import_thread = None
        self._import_timer.stop()
        self.import_button.setEnabled(True)
        self.import_button.setText("Import…")
        spec, shape, n_classes, error = self._import_result
        if error:
            self.document.refused.emit(error)
            self.import_finished.emit(error)
            return
        self.document.set_loaded_dataset_shape(shape, n_classes)
        reason = self.document.set_dataset(spec)
        self.refresh()
        self.import_finished.emit(reason or "")
