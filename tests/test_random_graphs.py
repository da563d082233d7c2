"""Random networks of every layer type either say what is wrong or train (hypothesis).

Each example draws a network from every type in ``LAYER_TYPES`` (read from the table, so
a new type is covered as soon as it is registered), with branches that an Add or a
Concatenate merges, on a tiny random dataset, and sometimes breaks it: an edge left
out, an edge that closes a cycle, a node that leads nowhere, a second Input, a removed
node, a parameter out of range or of the wrong kind, a layer that cannot take the shape
it gets (a flat vector into a Conv2D), a last layer with the wrong number of classes.

The property: ``analyze`` either reports problems, each naming a node of the network (or
the network as a whole) and saying what to do, and then ``build_model`` refuses it; or
the network builds, every node's value (``model(x, collect=True)["nodes"]``) has the
shape the analysis inferred, every weighted node holds as many parameters as the
analysis counted, and the session's own training step (``compiled_steps``, with L1/L2
in some of them) takes it, and trains one step with a finite loss. Either way its
plain data (what a project file holds) loads back to the same analysis.

Compiling the training step dominates the time (seconds per network on a 2-core CPU,
where tracing it takes milliseconds), so every valid network is built and its forward
pass and training step traced on shapes alone (``jax.eval_shape``), and a few are
compiled and trained for real. The shapes are tiny and the networks short;
``derandomize`` makes every CI run try the same examples (editing a test function
changes which).
"""

from __future__ import annotations

import math
import os
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, note, settings
from hypothesis import strategies as st

from nnviz.core.graph import Edge, GraphError, Network, analyze
from nnviz.core.layers import LAYER_TYPES, Context, LayerType, Role, ShapeError
from nnviz.core.optimizers import OPTIMIZERS
from nnviz.core.project import INITIALIZERS

TYPES: tuple[LayerType, ...] = tuple(LAYER_TYPES.values())
INPUTS = tuple(t for t in TYPES if t.role is Role.INPUT)
OUTPUTS = tuple(t for t in TYPES if t.role is Role.OUTPUT)
# Types that take one input and hand on one value: the body of a chain or a branch.
SINGLES = tuple(t for t in TYPES if t.has_output and t.min_inputs == 1 and t.max_inputs == 1)
# Types that join branches.
MERGERS = tuple(t for t in TYPES if t.has_output and (t.max_inputs is None or t.max_inputs > 1))
PARAM_KINDS = ("int", "float", "choice", "bool")

IMAGE_SHAPES = ((6, 6, 1), (8, 8, 2), (5, 7, 3))
FLAT_SHAPES = ((2,), (5,))

# Words that say what to do (or what is allowed) in a problem's message.
ADVICE = re.compile(
    r"\b(add|connect|remove|delete|insert|move|use|set|give|flatten|drag|choose|change|must|pool|make)\b",
    re.IGNORECASE,
)

# NNVIZ_RANDOM_GRAPHS=10 runs ten times as many examples, for a longer hunt by hand.
SCALE = float(os.environ.get("NNVIZ_RANDOM_GRAPHS", "1"))
EXAMPLES = max(1, round(200 * SCALE))  # networks analysed, and built and traced when valid
TRAINED = max(1, round(10 * SCALE))  # valid networks compiled and trained: a compilation takes seconds


def test_the_strategy_knows_every_parameter_kind_and_every_role():
    """A new kind of parameter needs a strategy below; fail here rather than silently draw defaults."""
    for t in TYPES:
        for spec in t.params:
            assert spec.kind in PARAM_KINDS, f"{t.name}.{spec.name}: teach draw_value about {spec.kind!r}"
    assert INPUTS and OUTPUTS and MERGERS and SINGLES
    assert {t.name for t in (*INPUTS, *OUTPUTS, *SINGLES, *MERGERS)} == set(LAYER_TYPES)


# ---------------------------------------------------------------- drawing values


def draw_value(draw, spec, *, wild: bool):
    """A value for ``spec``: inside its limits, or with ``wild`` sometimes outside them or of the wrong kind."""
    if wild and draw(st.integers(0, 3)) == 0:
        return draw(_bad_value(spec))
    if spec.kind == "bool":
        return draw(st.booleans())
    if spec.kind == "choice":
        return draw(st.sampled_from(spec.choices))
    lo = spec.minimum if spec.minimum is not None else 0
    hi = spec.maximum if spec.maximum is not None else lo + 10
    if spec.kind == "int":
        lo, hi = math.ceil(lo), math.floor(hi)
        # Mostly small (the inputs are 8×8 at most, and compiling grows with size),
        # sometimes anywhere in the range.
        if draw(st.integers(0, 5)) == 0:
            return draw(st.integers(lo, hi))
        return draw(st.integers(lo, min(hi, lo + 4)))
    return draw(st.floats(float(lo), float(hi), allow_nan=False, allow_infinity=False))


def _bad_value(spec):
    out = [st.sampled_from(["bogus", None, [1], {"a": 1}])]
    if spec.minimum is not None:
        out.append(st.just(spec.minimum - 1))
    if spec.maximum is not None:
        out.append(st.just(spec.maximum + 1))
    if spec.kind == "int":
        out += [st.just(2.5), st.just(True)]
    if spec.kind == "float":
        out += [st.sampled_from([math.nan, math.inf, -math.inf, True])]
    if spec.kind == "bool":
        out.append(st.just(1))
    return st.one_of(out)


def draw_params(draw, t: LayerType, *, wild: bool) -> dict:
    return {spec.name: draw_value(draw, spec, wild=wild) for spec in t.params}


# ---------------------------------------------------------------- drawing networks


class Draft:
    """A network being drawn: its nodes (type name, params), edges and the shapes we expect."""

    def __init__(self, draw, ctx: Context, *, wild: bool):
        self.draw, self.ctx, self.wild = draw, ctx, wild
        self.nodes: list[tuple[str, dict]] = []
        self.edges: list[tuple[int, int]] = []
        self.shapes: list[tuple | None] = []

    def shape_of(self, t: LayerType, params: dict, ins: list[int]):
        """What ``t`` makes of these inputs, or None when it cannot (the analysis will say why)."""
        in_shapes = [self.shapes[i] for i in ins]
        if t.check_params(params) or any(s is None for s in in_shapes) or len(ins) < t.min_inputs:
            return None
        try:
            shape = t.infer(params, in_shapes, self.ctx)
        except (ShapeError, KeyError, TypeError, ValueError):
            return None
        return shape if all(d > 0 for d in shape) else None

    def add(self, t: LayerType, params: dict, ins: list[int]) -> int:
        self.nodes.append((t.name, params))
        self.shapes.append(self.shape_of(t, params, ins))
        self.edges += [(i, len(self.nodes) - 1) for i in ins]
        return len(self.nodes) - 1

    def fitting(self, pool: tuple[LayerType, ...], ins: list[int]) -> tuple[LayerType, dict]:
        """A type from ``pool`` (and its parameters) that works on ``ins``' shapes, when one does.

        Wild drafts take the drawn type whatever it gets, which is how a flat vector
        ends up in a Conv2D; tame ones rotate through the pool from the drawn type on.
        """
        start = self.draw(st.sampled_from(range(len(pool))))
        drawn = draw_params(self.draw, pool[start], wild=self.wild)
        if self.wild and self.draw(st.integers(0, 2)) == 0:
            return pool[start], drawn
        for k in range(len(pool)):
            t = pool[(start + k) % len(pool)]
            params = drawn if k == 0 else draw_params(self.draw, t, wild=False)
            for candidate in (params, t.defaults()):
                if self.shape_of(t, candidate, ins) is not None:
                    return t, candidate
        return pool[start], drawn

    def layer(self, src: int) -> int:
        t, params = self.fitting(SINGLES, [src])
        return self.add(t, params, [src])

    def branches(self, src: int) -> int:
        """Two or three branches from ``src``, each of zero to two layers, joined by a merge node.

        A tame draft leaves out a branch that no merge type could join to the others
        (its nodes are the newest, so they come off the end), and a single branch left
        is no merge at all.
        """
        ends: list[int] = []
        for _ in range(self.draw(st.integers(2, 3))):
            mark = len(self.nodes)
            end = src
            for _ in range(self.draw(st.integers(0, 2))):
                end = self.layer(end)
            joined = list(dict.fromkeys([*ends, end]))  # two empty branches are one edge
            if not self.wild and len(joined) > 1 and not any(self.fits(t, joined) for t in MERGERS):
                self.rollback(mark)
                continue
            ends = joined
        if len(ends) < 2:
            return ends[0] if ends else src
        t, params = self.fitting(MERGERS, ends)
        return self.add(t, params, ends)

    def fits(self, t: LayerType, ins: list[int]) -> bool:
        return self.shape_of(t, t.defaults(), ins) is not None

    def rollback(self, mark: int) -> None:
        """Forget the nodes from ``mark`` on, and their edges."""
        del self.nodes[mark:], self.shapes[mark:]
        self.edges = [(a, b) for a, b in self.edges if a < mark and b < mark]

    def head(self, src: int, n_classes: int) -> int:
        """Layers after ``src`` that give the Output what it accepts, found from the types' own shape rules."""
        out_type = self.draw(st.sampled_from(OUTPUTS))
        out_params = draw_params(self.draw, out_type, wild=False)
        if self.shape_of(out_type, out_params, [src]) is None:
            chain = self._head_chain(self.shapes[src], out_type, out_params, n_classes)
            for t, params in chain or []:
                src = self.add(t, params, [src])
        return self.add(out_type, out_params, [src])

    def _head_chain(self, shape, out_type, out_params, n_classes):
        """One or two layers that turn ``shape`` into what the Output accepts (an int parameter set to the classes)."""
        if shape is None:
            return None
        order = self.draw(st.permutations(SINGLES))
        units = self.draw(st.sampled_from([n_classes, 1] if n_classes == 2 else [n_classes]))

        def variants_of(t):
            base = draw_params(self.draw, t, wild=False)
            out = [base]
            for spec in t.params:
                if spec.kind == "int" and (spec.maximum is None or units <= spec.maximum):
                    out += [{**base, spec.name: units}, {**t.defaults(), spec.name: units}]
            return out

        variants = {t.name: variants_of(t) for t in order}

        def fits(t, params, s):
            probe = Draft(self.draw, self.ctx, wild=False)
            probe.shapes = [s]
            return probe.shape_of(t, params, [0])

        def accepted(s):
            return fits(out_type, out_params, s) is not None

        firsts = [(t, p, fits(t, p, shape)) for t in order for p in variants[t.name]]
        firsts = [(t, p, s) for t, p, s in firsts if s is not None]
        for t, p, s in firsts:
            if accepted(s):
                return [(t, p)]
        for t, p, s in firsts:
            for t2 in order:
                for p2 in variants[t2.name]:
                    s2 = fits(t2, p2, s)
                    if s2 is not None and accepted(s2):
                        return [(t, p), (t2, p2)]
        return None


@st.composite
def problems_to_make(draw):
    return draw(
        st.lists(
            st.sampled_from(
                [
                    "drop_edge",
                    "cycle",
                    "dangling",
                    "second_input",
                    "second_output",
                    "remove_node",
                    "bad_param",
                ]
            ),
            max_size=2,
        )
    )


@st.composite
def cases(draw, wild: bool = True):
    """A dataset, a network on it (broken, when ``wild``) and the settings of one training step."""
    image = draw(st.booleans())
    input_shape = draw(st.sampled_from(IMAGE_SHAPES if image else FLAT_SHAPES))
    n_classes = draw(st.integers(2, 4))
    n_samples = draw(st.integers(2, 6))
    ctx = Context(input_shape, n_classes, "random")
    # With ``wild``, one draft in three is: types that may not fit, values out of range, breakages.
    wild = wild and draw(st.integers(0, 2)) == 0
    draft = Draft(draw, ctx, wild=wild)
    cur = draft.add(draw(st.sampled_from(INPUTS)), {}, [])
    for _ in range(draw(st.integers(0, 3))):
        cur = draft.branches(cur) if draw(st.integers(0, 2)) == 0 else draft.layer(cur)
    wrong_classes = wild and draw(st.integers(0, 3)) == 0
    draft.head(cur, n_classes + 1 if wrong_classes else n_classes)
    breakages = draw(problems_to_make()) if wild else []
    training = {
        "optimizer": draw(st.sampled_from(sorted(OPTIMIZERS))),
        "learning_rate": draw(st.sampled_from([1e-3, 0.01, 0.1])),
        "init": draw(st.sampled_from(INITIALIZERS)),
        "l1": draw(st.sampled_from([0.0, 0.0, 1e-3])),
        "l2": draw(st.sampled_from([0.0, 0.0, 1e-2])),
        "seed": draw(st.integers(0, 2**16)),
    }
    net = build(draft, breakages, draw)
    return ctx, n_samples, net, breakages, training


def build(draft: Draft, breakages: list[str], draw) -> Network:
    """The drafted network, broken as asked; every edge goes through ``connect``, except a cycle's."""
    net = Network()
    ids = [net.add_node(name, params).id for name, params in draft.nodes]
    for a, b in draft.edges:
        net.connect(ids[a], ids[b])
    for what in breakages:
        nodes = list(net.nodes)
        if what == "drop_edge" and net.edges:
            e = draw(st.sampled_from(net.edges))
            net.disconnect(e.source, e.target)
        elif what == "cycle" and net.edges:
            # An edge from a node back to one before it: the editor and the file loader
            # refuse it with a reason; an analysis handed such a graph still must not fail.
            order = net.topological_order() or nodes
            later = draw(st.integers(1, len(order) - 1)) if len(order) > 1 else 0
            earlier = draw(st.integers(0, max(0, later - 1)))
            a, b = order[later], order[earlier]
            if net._reaches(b, a):
                assert net.check_connection(a, b)  # refused, with a reason
                net.edges.append(Edge(a, b))
        elif what == "dangling":
            t = draw(st.sampled_from(SINGLES + MERGERS))
            node = net.add_node(t.name, draw_params(draw, t, wild=True))
            if draw(st.booleans()):
                src = draw(st.sampled_from(nodes))
                if net.check_connection(src, node.id) is None:
                    net.connect(src, node.id)
        elif what in ("second_input", "second_output"):
            t = draw(st.sampled_from(INPUTS if what == "second_input" else OUTPUTS))
            net.add_node(t.name, draw_params(draw, t, wild=False))
        elif what == "remove_node" and nodes:
            net.remove_node(draw(st.sampled_from(nodes)))
        elif what == "bad_param":
            with_params = [nid for nid in nodes if net.nodes[nid].layer.params]
            if with_params:
                node = net.nodes[draw(st.sampled_from(with_params))]
                spec = draw(st.sampled_from(node.layer.params))
                # As a hand-written file holds it: from_dict keeps values out of range.
                node.params[spec.name] = draw(_bad_value(spec))
    return net


def as_code(net: Network) -> str:
    """The network as the lines that rebuild it, for hypothesis to print when an example fails."""
    names = {nid: f"n{i}" for i, nid in enumerate(net.nodes)}
    lines = ["net = Network()"]
    replay = Network()
    for nid, node in net.nodes.items():
        lines.append(f"{names[nid]} = net.add_node({node.type!r}, {node.params!r}).id")
        replay.add_node(node.type, node.params, node_id=nid)
    for e in net.edges:
        a, b = names[e.source], names[e.target]
        if replay.check_connection(e.source, e.target) is None:
            replay.connect(e.source, e.target)
            lines.append(f"net.connect({a}, {b})")
        else:  # the edge that closes a cycle, which connect refuses
            replay.edges.append(e)
            lines.append(f"net.edges.append(Edge({a}, {b}))")
    return "\n".join(lines)


# ---------------------------------------------------------------- the property


def check_problems(net: Network, analysis) -> None:
    """Each problem names a node of ``net`` (or none: the network) and says what to do."""
    for problem in analysis.problems:
        assert problem.node_id is None or problem.node_id in net.nodes, problem
        assert isinstance(problem.message, str) and problem.message.strip(), problem
        assert ADVICE.search(problem.message), f"says what is wrong but not what to do: {problem.message!r}"
        text = problem.text(net)
        if problem.node_id is not None:
            node = net.nodes[problem.node_id]
            assert text.startswith(f"{node.name} ({node.type}): "), text


def check_round_trip(net: Network, analysis, ctx: Context) -> None:
    """The network as plain data (what a project file holds) loads back to the same analysis, or is refused."""
    try:
        loaded = Network.from_dict(net.to_dict())
    except GraphError as exc:  # a cycle, which only a hand-edited file can hold
        assert str(exc).strip()
        return
    again = analyze(loaded, ctx)
    assert again.messages(loaded) == analysis.messages(net)
    assert again.shapes == analysis.shapes and again.param_counts == analysis.param_counts


class Built:
    """A valid network built as the session builds it, with its shapes checked against the analysis.

    The model is built under ``nnx.eval_shape`` and its forward pass and training step
    traced with ``jax.eval_shape``: the whole of the engine's code runs on shapes alone,
    which takes milliseconds where compiling takes seconds. ``train`` then compiles and
    runs one real step.
    """

    def __init__(self, net: Network, analysis, ctx: Context, n_samples: int, training: dict):
        import jax
        from flax import nnx

        from nnviz.engine.model import build_model
        from nnviz.engine.training import compiled_steps, make_optimizer

        self.training, self.n, self.n_classes = training, n_samples, ctx.n_classes
        self.input_shape = tuple(ctx.input_shape)
        model = nnx.eval_shape(
            lambda: build_model(net, analysis, ctx, init=training["init"], seed=training["seed"])
        )
        self.graphdef, state = nnx.split(model)
        self.shapes = nnx.to_pure_dict(state)
        layers = self.shapes.get("layers", {})

        # Parameter counts: what the model holds against what the card and the summary say.
        weighted = {nid for nid in net.nodes if net.nodes[nid].layer.has_weights}
        assert set(layers) == weighted
        for nid in net.nodes:
            held = sum(math.prod(v.shape) for v in layers.get(nid, {}).values())
            assert held == analysis.param_counts.get(nid, 0), (net.nodes[nid].name, held)

        # Every node's value has the shape the analysis inferred, after the batch axis.
        x = jax.ShapeDtypeStruct((n_samples, *ctx.input_shape), np.float32)
        values = jax.eval_shape(
            lambda p, x: nnx.merge(self.graphdef, p)(x, collect=True)["nodes"], self.shapes, x
        )
        assert set(values) == set(analysis.shapes)
        for nid, v in values.items():
            assert tuple(v.shape) == (n_samples, *analysis.shapes[nid]), (net.nodes[nid].name, v.shape)

        # The session's own training step, traced: the loss, the penalty, the optimizer.
        momentum = 0.9
        self.tx = make_optimizer(training["optimizer"], training["learning_rate"], momentum)
        self.fns = compiled_steps(
            self.graphdef,
            model.head,
            training["optimizer"],
            momentum,
            float(training["l1"]),
            float(training["l2"]),
            tuple(layers),
        )
        opt_state = jax.eval_shape(self.tx.init, self.shapes)
        out = jax.eval_shape(self.fns.train_steps, self.shapes, opt_state, *self._data(x))
        p, _, _, _, _, norms = out
        assert jax.tree.map(lambda a: a.shape, p) == jax.tree.map(lambda a: a.shape, self.shapes)
        assert norms.shape == (len(layers),)

    def _data(self, x):
        """The key, the samples ``x``, the labels and the batch order of one step on every sample."""
        import jax
        import jax.numpy as jnp

        y = (np.arange(self.n) % self.n_classes).astype(
            np.int32
        )  # every class, when there are enough samples
        order = np.arange(self.n, dtype=np.int32)[None, :]
        key = jax.random.PRNGKey(self.training["seed"])
        return key, x, jnp.asarray(y), jnp.asarray(order), np.int32(0), np.int32(1)

    def train(self) -> float:
        """One compiled step from random weights (numpy: no random initialiser to compile); its loss."""
        import jax
        import jax.numpy as jnp

        rng = np.random.default_rng(self.training["seed"])
        params = jax.tree.map(
            lambda a: jnp.asarray(
                rng.normal(size=a.shape) / math.sqrt(math.prod(a.shape[:-1]) or 1), jnp.float32
            ),
            self.shapes,
        )
        x = rng.normal(size=(self.n, *self.input_shape)).astype(np.float32)
        p, _, _, losses, _, norms = self.fns.train_steps(
            params, self.tx.init(params), *self._data(jnp.asarray(x))
        )
        loss = float(losses[0])
        assert math.isfinite(loss), loss
        assert np.all(np.isfinite(np.asarray(norms)))
        for leaf in jax.tree.leaves(p):
            assert np.all(np.isfinite(np.asarray(leaf)))
        return loss


SETTINGS = dict(
    deadline=None,
    derandomize=True,
    database=None,  # derandomized: nothing to remember between runs, so no .hypothesis folder
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    print_blob=True,
)


@settings(max_examples=EXAMPLES, **SETTINGS)
@given(cases())
def test_a_random_network_reports_what_to_fix_or_builds_with_the_inferred_shapes(case):
    ctx, n_samples, net, breakages, training = case
    note(as_code(net))
    note(f"context={ctx}, samples={n_samples}, breakages={breakages}, training={training}")
    analysis = analyze(net, ctx)
    event("reports problems" if analysis.problems else "builds")
    check_round_trip(net, analysis, ctx)
    if analysis.problems:
        check_problems(net, analysis)
        from nnviz.engine.model import ModelError, build_model

        with pytest.raises(ModelError):
            build_model(net, analysis, ctx)
        return
    assert all(analysis.shapes[nid] is not None for nid in net.nodes)
    for t in sorted({n.type for n in net.nodes.values()}):
        event(f"builds with a {t}")
    Built(net, analysis, ctx, n_samples, training)


@settings(max_examples=TRAINED, **SETTINGS)
@given(cases(wild=False))
def test_a_random_valid_network_trains_one_compiled_step_with_a_finite_loss(case):
    ctx, n_samples, net, _, training = case
    note(as_code(net))
    note(f"context={ctx}, samples={n_samples}, training={training}")
    analysis = analyze(net, ctx)
    assume(analysis.ok)
    event(f"{len(net.nodes)} nodes")
    for t in sorted({n.type for n in net.nodes.values()}):
        event(f"trains a {t}")
    loss = Built(net, analysis, ctx, n_samples, training).train()
    note(f"loss={loss}")


def test_a_network_without_weights_trains_with_a_penalty():
    net = Network.chain("Input", "Flatten", "Output")
    ctx = Context((2,), 2, "random")
    analysis = analyze(net, ctx)
    assert analysis.ok, analysis.messages(net)
    training = {"optimizer": "sgd", "learning_rate": 0.1, "init": "auto", "l1": 1e-3, "l2": 0.0, "seed": 0}
    assert math.isfinite(Built(net, analysis, ctx, 4, training).train())
