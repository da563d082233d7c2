"""The network as a directed acyclic graph of layer nodes, and its analysis.

``Network`` is the single source of truth the editor mirrors: every change goes through
one of its methods, which checks the change, applies it and tells listeners. It refuses
edits that can never make sense (a cycle, a second input into a Dense) with a
``GraphError`` saying why; problems that the user may still be in the middle of fixing
(an unconnected node, a shape mismatch) are allowed and reported by ``analyze``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .layers import LAYER_TYPES, Context, LayerType, Role, Shape, ShapeError, layer_type


class GraphError(Exception):
    """An edit of the network that cannot be made; the message says why."""


@dataclass
class Node:
    """One layer in the diagram: its type, parameter values and place on the canvas."""

    id: str
    type: str
    name: str
    params: dict[str, Any]
    position: tuple[float, float] = (0.0, 0.0)

    @property
    def layer(self) -> LayerType:
        return layer_type(self.type)

    @property
    def role(self) -> Role:
        return self.layer.role


@dataclass(frozen=True)
class Edge:
    """Data flows from ``source``'s output into ``target``'s input."""

    source: str
    target: str


Listener = Callable[[str, dict], None]


class Network:
    """A DAG of layer nodes. Edges into a merge node keep their order (Concatenate cares)."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []
        self._listeners: list[Listener] = []

    # ------------------------------------------------------------ listeners

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event, payload)`` after every change (node_added, edge_removed, ...)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def _emit(self, event: str, **payload: Any) -> None:
        for listener in list(self._listeners):
            listener(event, payload)

    # ------------------------------------------------------------ queries

    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise GraphError(f"there is no node {node_id!r}") from None

    def inputs_of(self, node_id: str) -> list[str]:
        """Ids feeding ``node_id``, in connection order."""
        return [e.source for e in self.edges if e.target == node_id]

    def outputs_of(self, node_id: str) -> list[str]:
        return [e.target for e in self.edges if e.source == node_id]

    def nodes_of_type(self, type_name: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.type == type_name]

    def nodes_of_role(self, role: Role) -> list[Node]:
        """The nodes whose layer type plays ``role`` (the Input, the Output, every pooling layer...)."""
        return [n for n in self.nodes.values() if n.role is role]

    def layer_of(self, node_id: str) -> LayerType | None:
        """The layer type of ``node_id``, or None for an id this network does not have."""
        node = self.nodes.get(node_id)
        return node.layer if node is not None else None

    def role_of(self, node_id: str) -> Role | None:
        """The role of ``node_id``'s layer type, or None for an id this network does not have."""
        layer = self.layer_of(node_id)
        return layer.role if layer is not None else None

    def param_of(self, node_id: str, name: str, default: Any = None) -> Any:
        node = self.nodes.get(node_id)
        return node.params.get(name, default) if node is not None else default

    def activation_of(self, node_id: str) -> str | None:
        """The activation ``node_id`` applies (``"relu"``...), or None when its type has none."""
        node = self.nodes.get(node_id)
        return node.layer.activation(node.params) if node is not None else None

    def has_edge(self, source: str, target: str) -> bool:
        return Edge(source, target) in self.edges

    def _reaches(self, start: str, goal: str) -> bool:
        stack, seen = [start], set()
        while stack:
            cur = stack.pop()
            if cur == goal:
                return True
            if cur in seen:
                continue
            seen.add(cur)
            stack.extend(self.outputs_of(cur))
        return False

    def topological_order(self) -> list[str] | None:
        """Node ids so that every edge points forward, or None if the graph has a cycle."""
        indegree = {nid: 0 for nid in self.nodes}
        for e in self.edges:
            indegree[e.target] += 1
        ready = [nid for nid in self.nodes if indegree[nid] == 0]
        order = []
        while ready:
            nid = ready.pop(0)
            order.append(nid)
            for succ in self.outputs_of(nid):
                indegree[succ] -= 1
                if indegree[succ] == 0:
                    ready.append(succ)
        return order if len(order) == len(self.nodes) else None

    def _unique_name(self, type_name: str) -> str:
        stem = "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(type_name))
        stem = stem.replace("2_d", "2d")
        taken = {n.name for n in self.nodes.values()}
        i = 1
        while f"{stem}_{i}" in taken:
            i += 1
        return f"{stem}_{i}"

    # ------------------------------------------------------------ edits

    def make_node(
        self,
        type_name: str,
        params: dict[str, Any] | None = None,
        position: tuple[float, float] = (0.0, 0.0),
        *,
        node_id: str | None = None,
        name: str | None = None,
    ) -> Node:
        """A node ready for this network (fresh uuid, unique name, defaults filled) but not added."""
        if type_name not in LAYER_TYPES:
            raise GraphError(f"unknown layer type {type_name!r}; known: {', '.join(LAYER_TYPES)}")
        t = layer_type(type_name)
        values = t.defaults()
        for key, value in (params or {}).items():
            spec = next((p for p in t.params if p.name == key), None)
            values[key] = spec.coerce(value) if spec else value
        return Node(
            node_id or uuid.uuid4().hex,
            type_name,
            name or self._unique_name(type_name),
            values,
            (float(position[0]), float(position[1])),
        )

    def add_node(
        self,
        type_name: str,
        params: dict[str, Any] | None = None,
        position: tuple[float, float] = (0.0, 0.0),
        *,
        node_id: str | None = None,
        name: str | None = None,
    ) -> Node:
        """Create and add a node of a registered type; missing parameters take their defaults."""
        node = self.make_node(type_name, params, position, node_id=node_id, name=name)
        if node.id in self.nodes:
            raise GraphError(f"a node with id {node.id} already exists")
        self.nodes[node.id] = node
        self._emit("node_added", node=node)
        return node

    def remove_node(self, node_id: str) -> tuple[Node, list[Edge]]:
        """Remove a node and its edges; returns both so an undo can put them back."""
        node = self.node(node_id)
        touching = [e for e in self.edges if node_id in (e.source, e.target)]
        for e in touching:
            self.disconnect(e.source, e.target)
        del self.nodes[node_id]
        self._emit("node_removed", node=node)
        return node, touching

    def check_connection(self, source: str, target: str) -> str | None:
        """None if ``source -> target`` may be added, else the reason it may not."""
        if source not in self.nodes or target not in self.nodes:
            return "both ends must be nodes of this network"
        src, dst = self.nodes[source], self.nodes[target]
        if source == target:
            return f"{src.name} cannot feed itself"
        if not src.layer.has_output:
            return f"{src.name} is an Output: nothing can come after the loss"
        if dst.layer.max_inputs == 0:
            return f"{dst.name} is an Input: it takes data from the dataset, not from other layers"
        if self.has_edge(source, target):
            return f"{src.name} is already connected to {dst.name}"
        limit = dst.layer.max_inputs
        if limit is not None and len(self.inputs_of(target)) >= limit:
            return (
                f"{dst.name} ({dst.type}) takes only one input; use an Add or Concatenate "
                "node to merge branches"
            )
        if self._reaches(target, source):
            return f"connecting {src.name} to {dst.name} would make a cycle; networks must flow one way"
        return None

    def connect(self, source: str, target: str, index: int | None = None) -> Edge:
        """Add the edge ``source -> target`` (at ``index`` among target's inputs) or raise GraphError."""
        reason = self.check_connection(source, target)
        if reason:
            raise GraphError(reason)
        edge = Edge(source, target)
        if index is None:
            self.edges.append(edge)
        else:
            # Keep merge inputs in their old order when an undo puts an edge back.
            siblings = [i for i, e in enumerate(self.edges) if e.target == target]
            pos = siblings[index] if index < len(siblings) else len(self.edges)
            self.edges.insert(pos, edge)
        self._emit("edge_added", edge=edge)
        return edge

    def disconnect(self, source: str, target: str) -> int:
        """Remove ``source -> target``; returns its index among target's inputs."""
        edge = Edge(source, target)
        if edge not in self.edges:
            raise GraphError(f"{source} is not connected to {target}")
        index = self.inputs_of(target).index(source)
        self.edges.remove(edge)
        self._emit("edge_removed", edge=edge)
        return index

    def set_param(self, node_id: str, name: str, value: Any) -> Any:
        """Set a parameter after checking it; returns the old value."""
        node = self.node(node_id)
        spec = node.layer.param(name)
        value = spec.coerce(value)
        msg = spec.check(value)
        if msg:
            raise GraphError(f"{node.name}: {msg}")
        old = node.params.get(name)
        node.params[name] = value
        self._emit("param_changed", node=node, name=name, old=old, value=value)
        return old

    def rename(self, node_id: str, name: str) -> str:
        node = self.node(node_id)
        name = name.strip()
        if not name:
            raise GraphError("a node needs a name")
        if any(n.name == name and n.id != node_id for n in self.nodes.values()):
            raise GraphError(f"another node is already called {name!r}")
        old, node.name = node.name, name
        self._emit("node_renamed", node=node, old=old)
        return old

    def move_node(self, node_id: str, position: tuple[float, float]) -> tuple[float, float]:
        node = self.node(node_id)
        old, node.position = node.position, (float(position[0]), float(position[1]))
        self._emit("node_moved", node=node, old=old)
        return old

    # ------------------------------------------------------------ building

    @classmethod
    def chain(cls, *layers: tuple[str, dict] | str, spacing: float = 180.0) -> Network:
        """A straight chain of layers, left to right: ``Network.chain("Input", ("Dense", {...}), ...)``."""
        net = cls()
        prev = None
        for i, item in enumerate(layers):
            type_name, params = (item, {}) if isinstance(item, str) else item
            node = net.add_node(type_name, params, (i * spacing, 0.0))
            if prev is not None:
                net.connect(prev.id, node.id)
            prev = node
        return net

    def copy(self) -> Network:
        return Network.from_dict(self.to_dict())

    # ------------------------------------------------------------ plain data

    def to_dict(self) -> dict:
        return {
            "nodes": [
                {
                    "id": n.id,
                    "type": n.type,
                    "name": n.name,
                    "params": dict(n.params),
                    "position": [n.position[0], n.position[1]],
                }
                for n in self.nodes.values()
            ],
            "edges": [{"source": e.source, "target": e.target} for e in self.edges],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Network:
        """Build a network from plain data; malformed data raises GraphError saying where.

        Parameter values are kept even when out of range, so a file written by hand
        opens and ``analyze`` points at the node to fix instead of refusing the file.
        """
        if not isinstance(data, dict):
            raise GraphError("'network' must be an object with 'nodes' and 'edges'")
        nodes, edges = data.get("nodes"), data.get("edges", [])
        if not isinstance(nodes, list) or not isinstance(edges, list):
            raise GraphError("'network' needs a list of 'nodes' and a list of 'edges'")
        net = cls()
        for i, raw in enumerate(nodes):
            where = f"node #{i + 1}"
            if not isinstance(raw, dict):
                raise GraphError(f"{where} must be an object")
            type_name = raw.get("type")
            if type_name not in LAYER_TYPES:
                raise GraphError(f"{where} has unknown type {type_name!r}; known: {', '.join(LAYER_TYPES)}")
            params = raw.get("params", {})
            if not isinstance(params, dict):
                raise GraphError(f"{where} ({type_name}): 'params' must be an object")
            pos = raw.get("position", [0, 0])
            if (
                not isinstance(pos, (list, tuple))
                or len(pos) != 2
                or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in pos)
            ):
                raise GraphError(f"{where} ({type_name}): 'position' must be two numbers")
            node_id = raw.get("id")
            if not isinstance(node_id, str) or not node_id:
                raise GraphError(f"{where} ({type_name}) needs a string 'id'")
            name = raw.get("name")
            if name is not None and not isinstance(name, str):
                raise GraphError(f"{where} ({type_name}): 'name' must be text")
            net.add_node(type_name, params, (pos[0], pos[1]), node_id=node_id, name=name)
        for i, raw in enumerate(edges):
            if not isinstance(raw, dict) or not all(
                isinstance(raw.get(k), str) for k in ("source", "target")
            ):
                raise GraphError(f"edge #{i + 1} needs string 'source' and 'target' ids")
            try:
                net.connect(raw["source"], raw["target"])
            except GraphError as exc:
                raise GraphError(f"edge #{i + 1}: {exc}") from None
        return net


# ---------------------------------------------------------------- analysis


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the network; ``node_id`` is None for the network as a whole."""

    node_id: str | None
    message: str

    def text(self, network: Network) -> str:
        if self.node_id is None or self.node_id not in network.nodes:
            return self.message
        node = network.nodes[self.node_id]
        return f"{node.name} ({node.type}): {self.message}"


@dataclass
class Analysis:
    """Validation problems, output shapes and parameter counts of every node."""

    problems: list[Problem] = field(default_factory=list)
    shapes: dict[str, Shape | None] = field(default_factory=dict)
    param_counts: dict[str, int] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def total_params(self) -> int:
        return sum(self.param_counts.values())

    def problems_of(self, node_id: str) -> list[str]:
        return [p.message for p in self.problems if p.node_id == node_id]

    def messages(self, network: Network) -> list[str]:
        return [p.text(network) for p in self.problems]


def analyze(network: Network, context: Context | None = None) -> Analysis:
    """Check the whole network at once: every problem, each naming its node and the fix."""
    ctx = context or Context()
    result = Analysis()
    problems = result.problems
    if not network.nodes:
        problems.append(
            Problem(None, "the network is empty; drag an Input, some layers and an Output onto the canvas")
        )
        return result

    inputs = network.nodes_of_role(Role.INPUT)
    outputs = network.nodes_of_role(Role.OUTPUT)
    if not inputs:
        problems.append(
            Problem(None, "the network has no Input node; add one and connect it to the first layer")
        )
    elif len(inputs) > 1:
        for n in inputs[1:]:
            problems.append(Problem(n.id, "only one Input is supported; remove this one"))
    if not outputs:
        problems.append(
            Problem(None, "the network has no Output node; connect the last layer to an Output (the loss)")
        )
    elif len(outputs) > 1:
        for n in outputs[1:]:
            problems.append(Problem(n.id, "only one Output is supported; remove this one"))

    bad_params: set[str] = set()
    for node in network.nodes.values():
        for msg in node.layer.check_params(node.params):
            problems.append(Problem(node.id, msg))
            bad_params.add(node.id)
        n_in = len(network.inputs_of(node.id))
        t = node.layer
        if n_in < t.min_inputs:
            if t.min_inputs == 1:
                problems.append(Problem(node.id, "has no input; connect a layer into it"))
            else:
                more = t.min_inputs - n_in
                problems.append(
                    Problem(
                        node.id,
                        f"needs at least {t.min_inputs} inputs but has {n_in}; connect {more} more "
                        f"layer{'s' if more > 1 else ''} into it (the branches it joins)",
                    )
                )
        if t.has_output and not network.outputs_of(node.id):
            problems.append(Problem(node.id, "its output goes nowhere; connect it onward or delete it"))

    order = network.topological_order()
    if order is None:
        problems.append(Problem(None, "the network has a cycle; data must flow one way from Input to Output"))
        return result
    result.order = order

    # Nodes that the Output cannot be reached from are dead ends even if they are wired.
    if outputs:
        live = _ancestors(network, outputs[0].id) | {outputs[0].id}
        for node in network.nodes.values():
            if node.id not in live and network.outputs_of(node.id):
                problems.append(Problem(node.id, "does not lead to the Output; connect it or delete it"))

    for out in outputs[:1]:
        feeding = [network.nodes[i] for i in network.inputs_of(out.id)]
        if feeding and feeding[0].layer.training_only:
            problems.append(
                Problem(
                    feeding[0].id,
                    f"a {feeding[0].type} right before the Output would drop the "
                    "network's answers themselves; move it before the last layer",
                )
            )

    for nid in order:
        node = network.nodes[nid]
        in_shapes = [result.shapes.get(src) for src in network.inputs_of(nid)]
        if nid in bad_params or len(in_shapes) < node.layer.min_inputs or any(s is None for s in in_shapes):
            result.shapes[nid] = None
            continue
        try:
            shape = node.layer.infer(node.params, in_shapes, ctx)
        except ShapeError as exc:
            problems.append(Problem(nid, str(exc)))
            result.shapes[nid] = None
            continue
        if any(d <= 0 for d in shape):
            problems.append(
                Problem(
                    nid,
                    f"its output would be empty ({'×'.join(map(str, shape))}); "
                    "use a smaller kernel, window or stride",
                )
            )
            result.shapes[nid] = None
            continue
        result.shapes[nid] = shape
        result.param_counts[nid] = node.layer.count(node.params, in_shapes, shape)
    return result


def _ancestors(network: Network, node_id: str) -> set[str]:
    seen: set[str] = set()
    stack = network.inputs_of(node_id)
    while stack:
        cur = stack.pop()
        if cur not in seen:
            seen.add(cur)
            stack.extend(network.inputs_of(cur))
    return seen
