"""The network as a directed acyclic graph of layer nodes, and its analysis.

``Network`` is the single source of truth the editor mirrors: every change goes through
one of its methods, which checks the change, applies it and tells listeners. It refuses
edits that can never make sense (a cycle, a second input into a Dense) with a
``GraphError`` saying why; problems that the user may still be in the middle of fixing
(an unconnected node, a shape mismatch) are allowed and reported by ``analyze``.
"""

from __future__ import annotations

import math
import unicodedata
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .layers import LAYER_TYPES, Context, LayerType, Role, Shape, ShapeError, layer_type
from .settings import value_text

# The most nodes a network read from plain data (a project file) may have: more cannot be
# edited or looked at sensibly, and the editor draws every node.
MAX_NODES = 10_000


class GraphError(Exception):
    """An edit of the network that cannot be made; the message says why."""


def node_count_problem(count: int, limit: int | None = MAX_NODES) -> str | None:
    """Why a network of ``count`` nodes is not opened (more than ``limit``), or None."""
    if limit is None or count <= limit:
        return None
    return (
        f"it has {count:,} nodes; nnviz opens networks of at most {limit:,} nodes. "
        "Build a smaller network, or remove nodes from the file"
    )


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
        return _topological_order(self.nodes, self._adjacency()[1])

    def _adjacency(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """Every node's inputs and outputs in edge order, built in one pass over the edges.

        Whole-network work (analysis, ordering) reads these instead of calling
        ``inputs_of`` per node, which scans every edge: analysing 8,000 nodes took seconds.
        """
        ins: dict[str, list[str]] = {nid: [] for nid in self.nodes}
        outs: dict[str, list[str]] = {nid: [] for nid in self.nodes}
        for e in self.edges:
            ins.setdefault(e.target, []).append(e.source)
            outs.setdefault(e.source, []).append(e.target)
        return ins, outs

    def _unique_name(
        self, type_name: str, taken: set[str] | None = None, counters: dict[str, int] | None = None
    ) -> str:
        """``dense_3``: the type's stem and the first free number (after ``counters[stem]``, kept up to date)."""
        stem = "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(type_name))
        stem = stem.replace("2_d", "2d")
        if taken is None:
            taken = {n.name for n in self.nodes.values()}
        i = (counters or {}).get(stem, 0) + 1
        while f"{stem}_{i}" in taken:
            i += 1
        if counters is not None:
            counters[stem] = i
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
        reason = self._edge_problem(
            source, target, self.has_edge(source, target), len(self.inputs_of(target))
        )
        if reason is None and self._reaches(target, source):
            reason = _cycle_text(self.nodes[source], self.nodes[target])
        return reason

    def _edge_problem(self, source: str, target: str, exists: bool, n_inputs: int) -> str | None:
        """What is wrong with ``source -> target`` apart from a cycle, given whether it exists
        already and how many inputs ``target`` has: the one rule for editing and loading."""
        for end, nid in (("source", source), ("target", target)):
            if nid not in self.nodes:
                return f"its {end} {value_text(nid)} is not a node of this network; use one of the nodes' ids"
        src, dst = self.nodes[source], self.nodes[target]
        if source == target:
            return f"{src.name} cannot feed itself"
        if not src.layer.has_output:
            return f"{src.name} is an Output: nothing can come after the loss"
        if dst.layer.max_inputs == 0:
            return f"{dst.name} is an Input: it takes data from the dataset, not from other layers"
        if exists:
            return f"{src.name} is already connected to {dst.name}"
        limit = dst.layer.max_inputs
        if limit is not None and n_inputs >= limit:
            return (
                f"{dst.name} ({dst.type}) takes only one input; use an Add or Concatenate "
                "node to merge branches"
            )
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
        problem = name_problem(name)
        if problem:
            raise GraphError(problem)
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
        return Network.from_dict(self.to_dict(), max_nodes=None)

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
    def from_dict(cls, data: Any, *, max_nodes: int | None = MAX_NODES) -> Network:
        """Build a network from plain data; malformed data raises GraphError saying where.

        Parameter values are kept even when out of range, so a file written by hand
        opens and ``analyze`` points at the node to fix instead of refusing the file.
        The edges are checked by the rules ``connect`` applies, in time linear in the
        size of the network. More than ``max_nodes`` nodes are refused.
        """
        if not isinstance(data, dict):
            raise GraphError("'network' must be an object with 'nodes' and 'edges'")
        nodes, edges = data.get("nodes"), data.get("edges", [])
        if not isinstance(nodes, list) or not isinstance(edges, list):
            raise GraphError("'network' needs a list of 'nodes' and a list of 'edges'")
        problem = node_count_problem(len(nodes), max_nodes)
        if problem:
            raise GraphError(problem)
        net = cls()
        pending: list[tuple[str, Node]] = []  # nodes without a name get one once every name is known
        for i, raw in enumerate(nodes):
            where = f"node #{i + 1}"
            if not isinstance(raw, dict):
                raise GraphError(f"{where} must be an object")
            type_name = raw.get("type")
            if not isinstance(type_name, str) or type_name not in LAYER_TYPES:
                raise GraphError(
                    f"{where} has unknown type {value_text(type_name)}; known: {', '.join(LAYER_TYPES)}"
                )
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
            if node_id in net.nodes:
                raise GraphError(f"{where} ({type_name}) has the id {value_text(node_id)} of another node")
            name = raw.get("name")
            if name is not None:
                problem = name_problem(name)
                if problem:
                    raise GraphError(f"{where} ({type_name}): {problem}")
            node = net.make_node(type_name, params, (pos[0], pos[1]), node_id=node_id, name=name or "?")
            if name is None:
                pending.append((type_name, node))
            net.nodes[node_id] = node  # no listener can be registered yet: nothing to tell
        if pending:
            taken = {n.name for n in net.nodes.values()}
            counters: dict[str, int] = {}
            for type_name, node in pending:
                node.name = net._unique_name(type_name, taken, counters)
                taken.add(node.name)
        net.edges = _checked_edges(net, edges)
        return net


MAX_NAME = 200  # characters in a node's name: a card shows about 20


def name_problem(name: Any) -> str | None:
    """Why ``name`` cannot name a node (not text, blank, too long, control characters), or None."""
    if not isinstance(name, str):
        return f"'name' must be text (got {value_text(name)})"
    if not name.strip():
        return "'name' is blank; give the node a name"
    if len(name) > MAX_NAME:
        return f"the name {value_text(name)} is longer than {MAX_NAME} characters; shorten it"
    bad = next((c for c in name if unicodedata.category(c) in ("Cc", "Cs")), None)
    if bad is not None:
        what = "a lone surrogate" if unicodedata.category(bad) == "Cs" else "a control character"
        return f"the name {value_text(name)} holds {what} ({ascii(bad)}); use plain text"
    return None


def _cycle_text(src: Node, dst: Node) -> str:
    return f"connecting {src.name} to {dst.name} would make a cycle; networks must flow one way"


def _checked_edges(net: Network, edges: list) -> list[Edge]:
    """The edges of a file, checked as ``connect`` would check them one by one, in linear time.

    The first edge that ``connect`` would refuse raises GraphError naming it: the first
    that breaks a local rule (a missing node, a second input...), or, if earlier, the
    first whose addition closes a cycle, found by bisecting over the edges accepted so far.
    """
    accepted: list[Edge] = []
    present: set[Edge] = set()
    n_inputs: dict[str, int] = {}
    local: str | None = None
    for i, raw in enumerate(edges):
        if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in ("source", "target")):
            local = f"edge #{i + 1} needs string 'source' and 'target' ids"
            break
        edge = Edge(raw["source"], raw["target"])
        reason = net._edge_problem(edge.source, edge.target, edge in present, n_inputs.get(edge.target, 0))
        if reason:
            local = f"edge #{i + 1}: {reason}"
            break
        accepted.append(edge)
        present.add(edge)
        n_inputs[edge.target] = n_inputs.get(edge.target, 0) + 1
    closing = _first_cycle_edge(net.nodes, accepted)
    if closing is not None:
        edge = accepted[closing]
        raise GraphError(
            f"edge #{closing + 1}: {_cycle_text(net.nodes[edge.source], net.nodes[edge.target])}"
        )
    if local is not None:
        raise GraphError(local)
    return accepted


def _first_cycle_edge(nodes: dict[str, Node], edges: list[Edge]) -> int | None:
    """The index of the first edge whose addition makes ``edges[:index + 1]`` cyclic, or None."""

    def acyclic(count: int) -> bool:
        outs: dict[str, list[str]] = {nid: [] for nid in nodes}
        for e in edges[:count]:
            outs[e.source].append(e.target)
        return _topological_order(nodes, outs) is not None

    if acyclic(len(edges)):
        return None
    lo, hi = 0, len(edges)  # edges[:lo] is acyclic, edges[:hi] is not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if acyclic(mid):
            lo = mid
        else:
            hi = mid
    return hi - 1


def _topological_order(nodes: dict[str, Any], outs: dict[str, list[str]]) -> list[str] | None:
    """Kahn's algorithm: node ids in an order where every edge points forward, or None for a cycle."""
    indegree = dict.fromkeys(nodes, 0)
    for targets in outs.values():
        for t in targets:
            indegree[t] = indegree.get(t, 0) + 1
    ready = deque(nid for nid in nodes if indegree[nid] == 0)
    order = []
    while ready:
        nid = ready.popleft()
        order.append(nid)
        for succ in outs.get(nid, ()):
            indegree[succ] -= 1
            if indegree[succ] == 0:
                ready.append(succ)
    return order if len(order) == len(nodes) else None


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

    ins, outs = network._adjacency()  # one pass over the edges: the analysis stays linear
    bad_params: set[str] = set()
    for node in network.nodes.values():
        for msg in node.layer.check_params(node.params):
            problems.append(Problem(node.id, msg))
            bad_params.add(node.id)
        n_in = len(ins[node.id])
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
        if t.has_output and not outs[node.id]:
            problems.append(Problem(node.id, "its output goes nowhere; connect it onward or delete it"))

    order = _topological_order(network.nodes, outs)
    if order is None:
        problems.append(Problem(None, "the network has a cycle; data must flow one way from Input to Output"))
        return result
    result.order = order

    # Nodes that the Output cannot be reached from are dead ends even if they are wired.
    if outputs:
        live = _ancestors(ins, outputs[0].id) | {outputs[0].id}
        for node in network.nodes.values():
            if node.id not in live and outs[node.id]:
                problems.append(Problem(node.id, "does not lead to the Output; connect it or delete it"))

    for out in outputs[:1]:
        feeding = [network.nodes[i] for i in ins[out.id]]
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
        in_shapes = [result.shapes.get(src) for src in ins[nid]]
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


def _ancestors(ins: dict[str, list[str]], node_id: str) -> set[str]:
    seen: set[str] = set()
    stack = list(ins.get(node_id, ()))
    while stack:
        cur = stack.pop()
        if cur not in seen:
            seen.add(cur)
            stack.extend(ins.get(cur, ()))
    return seen
