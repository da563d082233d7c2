"""Every edit of a project as a QUndoCommand, so all of them undo and redo.

Commands change the core ``Network`` (or the project's settings) and nothing else; the
canvas and panels follow through the network's listeners and the document's signals.
"""

from __future__ import annotations

import weakref
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QUndoCommand

from ..core.graph import Edge, Node

if TYPE_CHECKING:
    from .document import ProjectDocument

# Ids for mergeWith: consecutive edits of the same parameter merge into one undo step.
_SET_PARAM_ID = 1001


class _Command(QUndoCommand):
    """A command on a document, which it holds weakly.

    The document owns its undo stack and the stack its commands (in C++). A command
    holding the document strongly closes a reference cycle; when the garbage collector
    breaks it, it may free a command's Python half first, and the document's C++
    destructor then clears the stack through it and crashes.
    """

    @property
    def doc(self) -> ProjectDocument:
        return self._doc()

    @doc.setter
    def doc(self, doc: ProjectDocument) -> None:
        self._doc = weakref.ref(doc)


class AddNodeCommand(_Command):
    """Create a node (with a fixed id, so redo re-creates the very same node)."""

    def __init__(self, doc: ProjectDocument, node: Node) -> None:
        super().__init__(f"Add {node.type}")
        self.doc, self.node = doc, node

    def redo(self) -> None:
        n = self.node
        self.doc.network.add_node(n.type, dict(n.params), n.position, node_id=n.id, name=n.name)

    def undo(self) -> None:
        self.doc.network.remove_node(self.node.id)


class RemoveNodesCommand(_Command):
    """Delete nodes and every edge touching them; undo restores them, edges in their old order."""

    def __init__(self, doc: ProjectDocument, node_ids: list[str]) -> None:
        super().__init__("Delete" if len(node_ids) != 1 else f"Delete {doc.network.nodes[node_ids[0]].name}")
        self.doc = doc
        self.nodes = [_clone(doc.network.nodes[i]) for i in node_ids]
        ids = set(node_ids)
        self.edges = [e for e in doc.network.edges if e.source in ids or e.target in ids]
        self.edge_order = list(doc.network.edges)
        self.node_order = list(doc.network.nodes)

    def redo(self) -> None:
        for n in self.nodes:
            self.doc.network.remove_node(n.id)

    def undo(self) -> None:
        for n in self.nodes:
            self.doc.network.add_node(n.type, dict(n.params), n.position, node_id=n.id, name=n.name)
        for edge in self.edges:
            self.doc.network.connect(edge.source, edge.target)
        _restore_edge_order(self.doc, self.edge_order)
        nodes = self.doc.network.nodes
        if set(nodes) == set(self.node_order):  # the file lists nodes as before the delete
            restored = [(k, nodes[k]) for k in self.node_order]
            nodes.clear()
            nodes.update(restored)


class ConnectCommand(_Command):
    """Add one edge (already checked by the document)."""

    def __init__(self, doc: ProjectDocument, source: str, target: str) -> None:
        net = doc.network
        super().__init__(f"Connect {net.nodes[source].name} to {net.nodes[target].name}")
        self.doc, self.edge = doc, Edge(source, target)

    def redo(self) -> None:
        self.doc.network.connect(self.edge.source, self.edge.target)

    def undo(self) -> None:
        self.doc.network.disconnect(self.edge.source, self.edge.target)


class DisconnectCommand(_Command):
    """Remove one edge; undo puts it back at the same place among the target's inputs."""

    def __init__(self, doc: ProjectDocument, source: str, target: str) -> None:
        net = doc.network
        super().__init__(f"Disconnect {net.nodes[source].name} from {net.nodes[target].name}")
        self.doc, self.edge = doc, Edge(source, target)
        self.edge_order = list(net.edges)

    def redo(self) -> None:
        self.doc.network.disconnect(self.edge.source, self.edge.target)

    def undo(self) -> None:
        self.doc.network.connect(self.edge.source, self.edge.target)
        _restore_edge_order(self.doc, self.edge_order)


class MoveNodesCommand(_Command):
    """Move nodes; pushed once when a drag ends, or by the automatic layout."""

    def __init__(
        self,
        doc: ProjectDocument,
        moves: dict[str, tuple[tuple[float, float], tuple[float, float]]],
        text: str = "Move",
    ) -> None:
        super().__init__(text)
        self.doc, self.moves = doc, moves  # id -> (old, new)

    def redo(self) -> None:
        for nid, (_, new) in self.moves.items():
            self.doc.network.move_node(nid, new)

    def undo(self) -> None:
        for nid, (old, _) in self.moves.items():
            self.doc.network.move_node(nid, old)


class SetParamCommand(_Command):
    """Change one parameter of one node (value already checked)."""

    def __init__(self, doc: ProjectDocument, node_id: str, name: str, value: Any) -> None:
        node = doc.network.nodes[node_id]
        super().__init__(f"Set {node.name} {name}")
        self.doc, self.node_id, self.name = doc, node_id, name
        self.old, self.new = node.params.get(name), value

    def id(self) -> int:  # noqa: A003 - Qt's name
        return _SET_PARAM_ID

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        # Typing 1, 2, 8 into a spin box is one edit, not three.
        if isinstance(other, SetParamCommand) and (other.node_id, other.name) == (self.node_id, self.name):
            self.new = other.new
            return True
        return False

    def redo(self) -> None:
        self.doc.network.set_param(self.node_id, self.name, self.new)

    def undo(self) -> None:
        self.doc.network.set_param(self.node_id, self.name, self.old)


class RenameNodeCommand(_Command):
    def __init__(self, doc: ProjectDocument, node_id: str, name: str) -> None:
        super().__init__(f"Rename {doc.network.nodes[node_id].name}")
        self.doc, self.node_id = doc, node_id
        self.old, self.new = doc.network.nodes[node_id].name, name

    def redo(self) -> None:
        self.doc.network.rename(self.node_id, self.new)

    def undo(self) -> None:
        self.doc.network.rename(self.node_id, self.old)


class SetSettingsCommand(_Command):
    """Change the dataset and/or training settings (frozen dataclasses, swapped whole)."""

    def __init__(self, doc: ProjectDocument, text: str, dataset=None, training=None) -> None:
        super().__init__(text)
        self.doc = doc
        self.old = (doc.project.dataset, doc.project.training)
        self.new = (dataset or doc.project.dataset, training or doc.project.training)

    def redo(self) -> None:
        self.doc._apply_settings(*self.new)

    def undo(self) -> None:
        self.doc._apply_settings(*self.old)


def _restore_edge_order(doc: ProjectDocument, order: list[Edge]) -> None:
    """Put edges back in their saved order: it fixes Concatenate's input order and the file."""
    if set(order) == set(doc.network.edges):
        doc.network.edges[:] = order


def _clone(node: Node) -> Node:
    return replace(node, params=dict(node.params))
