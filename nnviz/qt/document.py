"""The open project: its network, settings, file, undo stack and current analysis.

Views never change the project directly: they call the methods here, which check the
edit, push a QUndoCommand, and tell everyone through Qt signals. While a training run
holds the document (``training_lock``), structural edits are refused with a reason.

Every edit (and every undo and redo) passes ``before_edit`` first, when the window set one:
it is given the project as the edit would leave it and says whether to go on, so an edit
that would discard a trained run can ask first (``CANCELLED`` when the answer was no).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from ..core import datasets
from ..core.datasets import DatasetSpec
from ..core.graph import Analysis, Network, Node, analyze
from ..core.layers import Context
from ..core.layout import auto_layout
from ..core.project import Project, TrainingConfig
from . import commands as cmd

LOCKED = "Stop training before changing the network's structure."
CANCELLED = "Edit cancelled: the trained weights are kept."


class _Scratch:
    """A stand-in document a command can be tried on, to see the project it would leave."""

    def __init__(self, project: Project) -> None:
        self.project = project

    @property
    def network(self) -> Network:
        return self.project.network

    def _apply_settings(self, dataset: DatasetSpec, training: TrainingConfig) -> None:
        self.project.dataset, self.project.training = dataset, training


def context_for(
    spec: DatasetSpec, loaded_shape: tuple | None = None, n_classes: int | None = None
) -> Context:
    """The input shape and classes a dataset will give, from the catalogue, without loading it.

    User files say their shape only once read: ``loaded_shape`` and ``n_classes`` are theirs.
    """
    shape = datasets.input_shape(spec.name) if spec.name in datasets.CATALOGUE else None
    if shape is not None:
        return Context(shape, datasets.n_classes(spec.name), datasets.title(spec.name))
    return Context(loaded_shape, n_classes, Path(spec.path).name or "your files")


class ProjectDocument(QObject):
    """One project being edited in the window."""

    network_changed = Signal()  # any change of nodes, edges, params or positions
    analysis_changed = Signal(object)  # Analysis
    settings_changed = Signal()  # dataset or training settings
    modified_changed = Signal(bool)
    path_changed = Signal(object)  # Path | None
    refused = Signal(str)  # an edit that was not made, and why
    lock_changed = Signal(bool)

    def __init__(
        self, project: Project | None = None, path: str | Path | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._on_undo_stack_clean_changed)
        self.path: Path | None = Path(path) if path else None
        self.training_lock = False
        # Asked before an edit with the project it would leave: False keeps things as they are.
        self.before_edit: Callable[[Project], bool] | None = None
        self._declined = False  # the user said no during this turn of the event loop
        self._index = 0  # the undo index the project is at
        self._reverting = False
        self.undo_stack.indexChanged.connect(self._on_undo_stack_index_changed)
        self._files_shape: tuple | None = None
        self._files_classes: int | None = None
        self.project = project or Project()
        self.project.network.add_listener(self._on_network_event)
        self.analysis: Analysis = Analysis()
        self._reanalyze()

    # ------------------------------------------------------------ state

    @property
    def network(self) -> Network:
        return self.project.network

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    @property
    def context(self) -> Context:
        return context_for(self.project.dataset, self._files_shape, self._files_classes)

    @property
    def title(self) -> str:
        return self.path.name if self.path else (self.project.name or "Untitled")

    def _on_undo_stack_clean_changed(self, clean: bool) -> None:
        self.modified_changed.emit(not clean)

    def set_loaded_dataset_shape(self, shape: tuple, n_classes: int) -> None:
        """For imported files: the shape is known only after loading them."""
        self._files_shape, self._files_classes = tuple(shape), n_classes
        self._reanalyze()

    def set_training_lock(self, locked: bool) -> None:
        if locked != self.training_lock:
            self.training_lock = locked
            self.lock_changed.emit(locked)

    def _on_network_event(self, event: str, payload: dict) -> None:
        self.network_changed.emit()
        if event != "node_moved":
            self._reanalyze()

    def _reanalyze(self) -> None:
        self.analysis = analyze(self.network, self.context)
        self.analysis_changed.emit(self.analysis)

    def _refuse(self, reason: str) -> str:
        self.refused.emit(reason)
        return reason

    def _locked(self) -> str | None:
        return self._refuse(LOCKED) if self.training_lock else None

    def _push(self, command) -> str | None:
        """Push ``command`` unless ``before_edit`` declines the project it would leave (CANCELLED)."""
        if self.before_edit is not None:
            if self._declined:  # one answer for a paste or delete made of several edits
                return self._refuse(CANCELLED)
            scratch = _Scratch(self.snapshot_project())
            command.doc = scratch
            try:
                command.redo()
            finally:
                command.doc = self
            if not self.before_edit(scratch.project):
                self._declined = True
                QTimer.singleShot(0, self._forget_declined)
                return self._refuse(CANCELLED)
        self._reverting = True  # asked already: the index change that follows needs no question
        try:
            self.undo_stack.push(command)
        finally:
            self._reverting = False
        self._index = self.undo_stack.index()
        return None

    def _forget_declined(self) -> None:
        self._declined = False

    def _on_undo_stack_index_changed(self, index: int) -> None:
        # Undo and redo change the project before anyone can ask; a "no" puts it back.
        if self._reverting or index == self._index:
            self._index = index
            return
        if self.before_edit is not None and not self.before_edit(self.snapshot_project()):
            self._reverting = True
            try:
                self.undo_stack.setIndex(self._index)
            finally:
                self._reverting = False
            self._refuse(CANCELLED)
            return
        self._index = index

    # ------------------------------------------------------------ edits (each one undoable)

    def add_node(
        self, type_name: str, position: tuple[float, float], params: dict[str, Any] | None = None
    ) -> Node | None:
        """Add a node of ``type_name`` at ``position``; None if refused."""
        if self._locked():
            return None
        node = self.network.make_node(type_name, params, position)
        if self._push(cmd.AddNodeCommand(self, node)):
            return None
        return self.network.nodes[node.id]

    def remove_nodes(self, node_ids: list[str]) -> str | None:
        if self._locked():
            return LOCKED
        ids = [i for i in node_ids if i in self.network.nodes]
        return self._push(cmd.RemoveNodesCommand(self, ids)) if ids else None

    def connect(self, source: str, target: str) -> str | None:
        """Add an edge; returns the reason (and emits ``refused``) when the core refuses it."""
        if self._locked():
            return LOCKED
        reason = self.network.check_connection(source, target)
        if reason:
            return self._refuse(reason)
        return self._push(cmd.ConnectCommand(self, source, target))

    def disconnect(self, source: str, target: str) -> str | None:
        if self._locked():
            return LOCKED
        if not self.network.has_edge(source, target):
            return self._refuse("those nodes are not connected")
        return self._push(cmd.DisconnectCommand(self, source, target))

    def move_nodes(self, moves: dict[str, tuple[tuple[float, float], tuple[float, float]]]) -> None:
        """Record moves that already happened on the canvas (old, new) as one undo step.

        Moving is allowed while training: it changes the picture, not the network.
        """
        moves = {k: v for k, v in moves.items() if k in self.network.nodes and v[0] != v[1]}
        if moves:
            self.undo_stack.push(cmd.MoveNodesCommand(self, moves))

    def set_param(self, node_id: str, name: str, value: Any) -> str | None:
        if self._locked():
            return LOCKED
        node = self.network.node(node_id)
        spec = node.layer.param(name)
        value = spec.coerce(value)
        msg = spec.check(value)
        if msg:
            return self._refuse(f"{node.name}: {msg}")
        if node.params.get(name) != value:
            return self._push(cmd.SetParamCommand(self, node_id, name, value))
        return None

    def rename_node(self, node_id: str, name: str) -> str | None:
        name = name.strip()
        taken = any(n.name == name and n.id != node_id for n in self.network.nodes.values())
        if not name or taken:
            return self._refuse("a node needs a name of its own" if name else "a node needs a name")
        if self.network.nodes[node_id].name != name:
            return self._push(cmd.RenameNodeCommand(self, node_id, name))
        return None

    def apply_layout(self) -> None:
        """Arrange the nodes left to right (one undo step)."""
        new = auto_layout(self.network)
        moves = {nid: (self.network.nodes[nid].position, pos) for nid, pos in new.items()}
        moves = {k: v for k, v in moves.items() if v[0] != v[1]}
        if moves:
            self.undo_stack.push(cmd.MoveNodesCommand(self, moves, "Arrange nodes"))

    def set_dataset(self, spec: DatasetSpec) -> str | None:
        problems = spec.validate()
        if problems:
            return self._refuse("; ".join(problems))
        if self.training_lock and spec != self.project.dataset:
            return self._refuse("Stop training before changing the dataset.")
        if spec != self.project.dataset:
            return self._push(cmd.SetSettingsCommand(self, "Change dataset", dataset=spec))
        return None

    def set_training(self, config: TrainingConfig) -> str | None:
        problems = config.validate()
        if problems:
            return self._refuse("; ".join(problems))
        if config != self.project.training:
            return self._push(cmd.SetSettingsCommand(self, "Change training settings", training=config))
        return None

    def _apply_settings(self, dataset: DatasetSpec, training: TrainingConfig) -> None:
        dataset_changed = dataset != self.project.dataset
        self.project.dataset, self.project.training = dataset, training
        if dataset_changed:
            self._reanalyze()
        self.settings_changed.emit()

    # ------------------------------------------------------------ files

    def save(self, path: str | Path | None = None) -> Path:
        """Save to ``path`` (or the current file); ProjectError on failure, nothing lost."""
        target = Path(path) if path else self.path
        if target is None:
            raise ValueError("no file name given")
        self.project.save(target)
        if target != self.path:
            self.path = target
            self.path_changed.emit(target)
        self.undo_stack.setClean()
        return target

    @classmethod
    def open(cls, path: str | Path, parent: QObject | None = None) -> ProjectDocument:
        """Load a project file; ProjectError (naming the file) if it cannot be read."""
        return cls(Project.load(path), path, parent)

    def snapshot_project(self) -> Project:
        """A deep copy for a training run, so later edits cannot reach the running session."""
        p = self.project
        return Project(p.network.copy(), p.dataset, p.training, p.name, p.description)
