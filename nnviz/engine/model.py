"""A Flax (nnx) module built from a checked network graph, and the loss head.

The module holds one Flax layer per weighted node (``nnx.Linear`` for Dense, ``nnx.Conv``
for Conv2D, so parameters keep Flax's layouts: Dense kernels (in, out), Conv kernels
(kh, kw, in, out)) and a static plan: the nodes in topological order. Its forward pass
walks the plan and can return every node's value, which is what the probes show.
Convolutions and pooling go through ``nnviz.engine.ops``, which is several times faster
than ``lax.conv`` + ``reduce_window`` on the CPU (see ops.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from ..core.graph import Analysis, Network
from ..core.layers import Context
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


class GraphModel(nnx.Module):
    """A network graph as a Flax module; ``__call__`` returns the output and, on request, every node."""

    def __init__(
        self, network: Network, analysis: Analysis, context: Context, *, init: str = "auto", rngs: nnx.Rngs
    ):
        if not analysis.ok:
            raise ModelError("the network is not valid:\n" + "\n".join(analysis.messages(network)))
        plan = []
        layers = {}
        for nid in analysis.order:
            node = network.nodes[nid]
            ins = tuple(network.inputs_of(nid))
            plan.append(Step(nid, node.type, ins, tuple(sorted(node.params.items()))))
            p = node.params
            if node.type == "Dense":
                (n_in,) = analysis.shapes[ins[0]]
                layers[nid] = nnx.Linear(
                    n_in,
                    p["units"],
                    use_bias=p["use_bias"],
                    rngs=rngs,
                    kernel_init=_kernel_init(init, p["activation"]),
                    bias_init=nnx.initializers.zeros_init(),
                )
            elif node.type == "Conv2D":
                cin = analysis.shapes[ins[0]][-1]
                k = p["kernel_size"]
                layers[nid] = nnx.Conv(
                    cin,
                    p["filters"],
                    kernel_size=(k, k),
                    strides=p["stride"],
                    padding=p["padding"].upper(),
                    use_bias=p["use_bias"],
                    rngs=rngs,
                    kernel_init=_kernel_init(init, p["activation"]),
                    bias_init=nnx.initializers.zeros_init(),
                )
        out_node = next(s for s in plan if s.type == "Output")
        src = network.nodes[out_node.inputs[0]].params
        self.plan = tuple(plan)
        self.layers = nnx.Dict(layers)
        self.head = Head(
            out_node.p("loss"),
            out_node.inputs[0],
            analysis.shapes[out_node.inputs[0]][0],
            context.n_classes or 0,
            src.get("activation", src.get("function", "linear")),
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
        pre: dict[str, jax.Array] = {}  # pre-activation of nodes that end in softmax/sigmoid
        for i, step in enumerate(self.plan):
            ins = [values[s] for s in step.inputs]
            t = step.type
            if t == "Input":
                v = ops.to_internal(x) if x.ndim == 4 else x
            elif t == "Dense":
                layer = self.layers[step.node_id]
                v = ins[0] @ layer.kernel[...]
                if layer.bias is not None:
                    v = v + layer.bias[...]
                v = self._act(step, v, step.p("activation"), pre)
            elif t == "Conv2D":
                layer = self.layers[step.node_id]
                s = step.p("stride")
                v = ops.conv2d(
                    ins[0],
                    layer.kernel[...],
                    None if layer.bias is None else layer.bias[...],
                    stride=(s, s),
                    padding=step.p("padding"),
                )
                v = self._act(step, v, step.p("activation"), pre)
            elif t in ("MaxPool2D", "AvgPool2D"):
                w, s = step.p("window"), step.p("stride")
                pool = ops.max_pool if t == "MaxPool2D" else ops.avg_pool
                v = pool(ins[0], window=(w, w), stride=(s, s))
            elif t == "Flatten":
                v = ins[0]
                if v.ndim == 4:
                    v = ops.to_nhwc(v)
                v = v.reshape(v.shape[0], -1)
            elif t == "Activation":
                v = self._act(step, ins[0], step.p("function"), pre)
            elif t == "Dropout":
                v = ins[0]
                rate = step.p("rate")
                if train and key is not None and rate > 0:
                    keep = jax.random.bernoulli(jax.random.fold_in(key, i), 1.0 - rate, v.shape)
                    v = jnp.where(keep, v / (1.0 - rate), 0.0)
            elif t == "Add":
                v = ins[0]
                for other in ins[1:]:
                    v = v + other
            elif t == "Concatenate":
                axis = ops.CHANNEL_AXIS if ins[0].ndim == 4 else -1
                v = jnp.concatenate(ins, axis=axis)
            elif t == "Output":
                v = ins[0]
            else:  # pragma: no cover - the registry and this switch must agree
                raise ModelError(f"no builder for layer type {t}")
            values[step.node_id] = v
        src = self.head.source
        out = {"output": values[src], "logits": pre.get(src, values[src])}
        if collect:
            out["nodes"] = {k: ops.to_nhwc(v) if v.ndim == 4 else v for k, v in values.items()}
        return out

    @staticmethod
    def _act(step: Step, z: jax.Array, name: str, pre: dict) -> jax.Array:
        if name in ("softmax", "sigmoid"):
            pre[step.node_id] = z
        axis = ops.CHANNEL_AXIS if z.ndim == 4 else -1
        return activate(name, z, step.p("alpha"), axis)


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
