"""A Flax (nnx) module built from a checked network graph, and the loss head.

Every layer type has one entry in ``BUILDERS``: how to make its Flax layer, if it has
weights (``nnx.Linear`` for Dense, ``nnx.Conv`` for Conv2D, so parameters keep Flax's
layouts: Dense kernels (in, out), Conv kernels (kh, kw, in, out)), and how to run it
forward. The module holds one Flax layer per weighted node and a static plan: the
nodes in topological order. Its forward pass walks the plan and can return every
node's value, which is what the probes show.
Convolutions and pooling go through ``nnviz.engine.ops``, which is several times faster
than ``lax.conv`` + ``reduce_window`` on the CPU (see ops.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from ..core.graph import Analysis, Network
from ..core.layers import Context, Role, Shape, layer_type
from . import ops


class ModelError(Exception):
    """The network cannot be turned into a model (it is invalid); the message lists why."""


@dataclass(frozen=True)
class Step:
    """One node of the plan: what to compute from which earlier nodes."""

    node_id: str
    type: str
    inputs: tuple[str, ...]
    params: tuple[tuple[str, Any], ...]
    index: int = 0  # its place in the plan (Dropout draws its mask from it)
    activation: str | None = None  # the non-linearity its parameters choose, if its type has one

    def p(self, name: str) -> Any:
        return dict(self.params)[name]


@dataclass(frozen=True)
class Head:
    """How the Output node turns the last layer's values into a loss and predictions."""

    loss: str  # "cross_entropy" or "mse"
    source: str  # node id feeding the Output
    units: int  # 1: a yes/no output for two classes
    n_classes: int
    activation: str  # of the node feeding the Output ("linear" when it has none)


def _kernel_init(name: str, activation: str):
    if name == "auto":
        name = "he_normal" if activation in ("relu", "leaky_relu") else "glorot_uniform"
    return {
        "glorot_uniform": nnx.initializers.glorot_uniform(),
        "glorot_normal": nnx.initializers.glorot_normal(),
        "he_uniform": nnx.initializers.he_uniform(),
        "he_normal": nnx.initializers.he_normal(),
        "lecun_normal": nnx.initializers.lecun_normal(),
        "zeros": nnx.initializers.zeros_init(),
    }[name]


def activate(name: str, z: jax.Array, alpha: float = 0.01, axis: int = -1) -> jax.Array:
    """Apply an activation by name (softmax along ``axis``)."""
    if name == "linear":
        return z
    if name == "sigmoid":
        return jax.nn.sigmoid(z)
    if name == "tanh":
        return jnp.tanh(z)
    if name == "relu":
        return jax.nn.relu(z)
    if name == "leaky_relu":
        return jax.nn.leaky_relu(z, alpha)
    if name == "softmax":
        return jax.nn.softmax(z, axis=axis)
    raise ValueError(f"unknown activation {name!r}")


# ---------------------------------------------------------------- the builders


@dataclass
class Pass:
    """One forward pass as the builders see it: the batch, the mode, and what is left for the loss."""

    model: GraphModel
    x: jax.Array
    train: bool
    key: jax.Array | None
    pre: dict[str, jax.Array]  # values before a final softmax/sigmoid, by node id

    def layer(self, step: Step) -> nnx.Module:
        return self.model.layers[step.node_id]

    def activate(self, step: Step, z: jax.Array) -> jax.Array:
        """``z`` through the node's activation, keeping it for the loss when that is softmax/sigmoid."""
        name = step.activation
        if name in ("softmax", "sigmoid"):
            self.pre[step.node_id] = z
        axis = ops.CHANNEL_AXIS if z.ndim == 4 else -1
        return activate(name, z, step.p("alpha"), axis)


Make = Callable[[dict, list[Shape], str, nnx.Rngs], nnx.Module]
Forward = Callable[[Pass, Step, list[jax.Array]], jax.Array]


@dataclass(frozen=True)
class Builder:
    """How one layer type becomes part of the model.

    ``make`` (types with weights only) creates its Flax layer from the node's parameters,
    its input shapes, the initialisation name and the random generators; ``forward``
    computes the node's value from its inputs' values (images in ops' internal layout).
    """

    forward: Forward
    make: Make | None = None


def _make_dense(p: dict, ins: list[Shape], init: str, rngs: nnx.Rngs) -> nnx.Module:
    (n_in,) = ins[0]
    return nnx.Linear(
        n_in,
        p["units"],
        use_bias=p["use_bias"],
        rngs=rngs,
        kernel_init=_kernel_init(init, p["activation"]),
        bias_init=nnx.initializers.zeros_init(),
    )


def _dense(f: Pass, step: Step, ins: list[jax.Array]) -> jax.Array:
    layer = f.layer(step)
    v = ins[0] @ layer.kernel[...]
    if layer.bias is not None:
        v = v + layer.bias[...]
    return f.activate(step, v)


def _make_conv(p: dict, ins: list[Shape], init: str, rngs: nnx.Rngs) -> nnx.Module:
    k = p["kernel_size"]
    return nnx.Conv(
        ins[0][-1],
        p["filters"],
        kernel_size=(k, k),
        strides=p["stride"],
        padding=p["padding"].upper(),
        use_bias=p["use_bias"],
        rngs=rngs,
        kernel_init=_kernel_init(init, p["activation"]),
        bias_init=nnx.initializers.zeros_init(),
    )


def _conv(f: Pass, step: Step, ins: list[jax.Array]) -> jax.Array:
    layer = f.layer(step)
    s = step.p("stride")
    v = ops.conv2d(
        ins[0],
        layer.kernel[...],
        None if layer.bias is None else layer.bias[...],
        stride=(s, s),
        padding=step.p("padding"),
    )
    return f.activate(step, v)


_POOLS = {"max": ops.max_pool, "mean": ops.avg_pool}


def _pool(f: Pass, step: Step, ins: list[jax.Array]) -> jax.Array:
    w, s = step.p("window"), step.p("stride")
    return _POOLS[layer_type(step.type).reduce](ins[0], window=(w, w), stride=(s, s))


_GLOBAL_POOLS = {"max": jnp.max, "mean": jnp.mean}


def _global_pool(f: Pass, step: Step, ins: list[jax.Array]) -> jax.Array:
    return _GLOBAL_POOLS[layer_type(step.type).reduce](ops.to_nhwc(ins[0]), axis=(1, 2))


def _flatten(f: Pass, step: Step, ins: list[jax.Array]) -> jax.Array:
    v = ins[0]
    if v.ndim == 4:
        v = ops.to_nhwc(v)
    return v.reshape(v.shape[0], -1)


def _dropout(f: Pass, step: Step, ins: list[jax.Array]) -> jax.Array:
    v = ins[0]
    rate = step.p("rate")
    if f.train and f.key is not None and rate > 0:
        keep = jax.random.bernoulli(jax.random.fold_in(f.key, step.index), 1.0 - rate, v.shape)
        v = jnp.where(keep, v / (1.0 - rate), 0.0)
    return v


def _add(f: Pass, step: Step, ins: list[jax.Array]) -> jax.Array:
    v = ins[0]
    for other in ins[1:]:
        v = v + other
    return v


def _concatenate(f: Pass, step: Step, ins: list[jax.Array]) -> jax.Array:
    axis = ops.CHANNEL_AXIS if ins[0].ndim == 4 else -1
    return jnp.concatenate(ins, axis=axis)


# One entry per registered layer type (tests/engine/test_model.py checks they agree).
BUILDERS: dict[str, Builder] = {
    "Input": Builder(lambda f, step, ins: ops.to_internal(f.x) if f.x.ndim == 4 else f.x),
    "Dense": Builder(_dense, _make_dense),
    "Conv2D": Builder(_conv, _make_conv),
    "MaxPool2D": Builder(_pool),
    "AvgPool2D": Builder(_pool),
    "GlobalAveragePool2D": Builder(_global_pool),
    "Flatten": Builder(_flatten),
    "Activation": Builder(lambda f, step, ins: f.activate(step, ins[0])),
    "Dropout": Builder(_dropout),
    "Add": Builder(_add),
    "Concatenate": Builder(_concatenate),
    "Output": Builder(lambda f, step, ins: ins[0]),
}


# ---------------------------------------------------------------- the model


class GraphModel(nnx.Module):
    """A network graph as a Flax module; ``__call__`` returns the output and, on request, every node."""

    def __init__(
        self, network: Network, analysis: Analysis, context: Context, *, init: str = "auto", rngs: nnx.Rngs
    ):
        if not analysis.ok:
            raise ModelError("the network is not valid:\n" + "\n".join(analysis.messages(network)))
        plan = []
        layers = {}
        for i, nid in enumerate(analysis.order):
            node = network.nodes[nid]
            builder = BUILDERS.get(node.type)
            if builder is None:
                raise ModelError(f"no builder for layer type {node.type}; add one to BUILDERS")
            ins = tuple(network.inputs_of(nid))
            act = node.layer.activation(node.params)
            plan.append(Step(nid, node.type, ins, tuple(sorted(node.params.items())), i, act))
            if builder.make is not None:
                layers[nid] = builder.make(node.params, [analysis.shapes[s] for s in ins], init, rngs)
        out_node = next(s for s in plan if network.nodes[s.node_id].role is Role.OUTPUT)
        src = network.nodes[out_node.inputs[0]]
        self.plan = tuple(plan)
        self.layers = nnx.Dict(layers)
        self.head = Head(
            out_node.p("loss"),
            out_node.inputs[0],
            analysis.shapes[out_node.inputs[0]][0],
            context.n_classes or 0,
            src.layer.activation(src.params) or "linear",
        )

    def __call__(
        self, x: jax.Array, *, train: bool = False, key: jax.Array | None = None, collect: bool = False
    ) -> dict[str, Any]:
        """Forward pass.

        Returns ``output`` (the values fed to the Output node), ``logits`` (the same
        values before a final softmax/sigmoid, or the output itself when there is
        none), and with ``collect`` every node's value under ``nodes`` (images as NHWC).
        """
        values: dict[str, jax.Array] = {}
        f = Pass(self, x, train, key, {})
        for step in self.plan:
            values[step.node_id] = BUILDERS[step.type].forward(f, step, [values[s] for s in step.inputs])
        src = self.head.source
        out = {"output": values[src], "logits": f.pre.get(src, values[src])}
        if collect:
            out["nodes"] = {k: ops.to_nhwc(v) if v.ndim == 4 else v for k, v in values.items()}
        return out


# ---------------------------------------------------------------- the loss head


def head_losses(head: Head, out: dict, y: jax.Array) -> jax.Array:
    """Loss of each sample of a batch, shape (batch,), as the Output node defines it.

    Cross-entropy works on logits: when the last layer ends in softmax (or sigmoid for a
    single unit) the values before that activation are used, which is the same loss but
    numerically stable; any other last layer is read as logits directly.
    """
    if head.loss == "cross_entropy":
        if head.units == 1:
            return optax.sigmoid_binary_cross_entropy(out["logits"][:, 0], y.astype(jnp.float32))
        return optax.softmax_cross_entropy_with_integer_labels(out["logits"], y)
    pred = out["output"]
    if head.units == 1:
        target = y.astype(jnp.float32)[:, None]
        if head.activation == "tanh":  # a tanh unit answers in [-1, 1], as in TensorFlow Playground
            target = 2 * target - 1
    else:
        target = jax.nn.one_hot(y, head.units)
    return jnp.mean((pred - target) ** 2, axis=-1)


def head_probabilities(head: Head, out: dict) -> jax.Array:
    """Class probabilities (or scores) for each sample, shape (batch, n_classes)."""
    if head.loss == "cross_entropy":
        if head.units == 1:
            p = jax.nn.sigmoid(out["logits"][:, 0])
            return jnp.stack([1 - p, p], axis=1)
        return jax.nn.softmax(out["logits"], axis=-1)
    if head.units == 1:
        p = out["output"][:, 0]
        if head.activation == "tanh":
            p = (p + 1) / 2
        return jnp.stack([1 - p, p], axis=1)
    return out["output"]


def build_model(
    network: Network, analysis: Analysis, context: Context, *, init: str = "auto", seed: int = 0
) -> GraphModel:
    """A freshly initialised model; the same seed gives the same weights."""
    return GraphModel(network, analysis, context, init=init, rngs=nnx.Rngs(params=seed))
