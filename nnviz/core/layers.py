"""Layer types: their parameters, explanations, shape rules and parameter counts.

Everything here is plain data plus small pure functions, so the editor (tooltips,
inspector widgets), the validator, the CLI summary and the engine all read the same
definitions. A new layer type is one ``LayerType`` added to ``LAYER_TYPES``, whose
traits (role, activation parameter, pooling reduction, card text...) the editor and
the panels read; the engine then needs one entry for it in ``nnviz.engine.model.BUILDERS``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Shape = tuple[int, ...]

ACTIVATIONS = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "softmax")
ACTIVATION_FORMULAS = {
    "linear": "f(z) = z",
    "sigmoid": "f(z) = 1 / (1 + e^-z)",
    "tanh": "f(z) = tanh(z)",
    "relu": "f(z) = max(0, z)",
    "leaky_relu": "f(z) = max(alpha*z, z)",
    "softmax": "f(z)_i = e^z_i / sum_j e^z_j",
}
LOSSES = ("cross_entropy", "mse")
# How people write them, on editor cards and in panel titles.
ACTIVATION_TITLES = {
    "linear": "linear",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "relu": "ReLU",
    "leaky_relu": "leaky ReLU",
    "softmax": "softmax",
}
LOSS_TITLES = {"cross_entropy": "cross-entropy", "mse": "MSE"}


def activation_title(name: object) -> str:
    """``"leaky_relu"`` as people write it (``leaky ReLU``); unknown names unchanged."""
    return ACTIVATION_TITLES.get(str(name), str(name))


class ShapeError(Exception):
    """A node cannot work on the shapes it is given; the message says what to change."""


@dataclass(frozen=True)
class ParamSpec:
    """One typed parameter of a layer type: default, limits and a one-line help."""

    name: str
    kind: str  # "int", "float", "choice" or "bool"
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    label: str = ""

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def check(self, value: Any) -> str | None:
        """None when ``value`` is acceptable, else a message saying what is allowed."""
        if self.kind == "bool":
            return None if isinstance(value, bool) else f"{self.name} must be true or false"
        if self.kind == "choice":
            if value in self.choices:
                return None
            return f"{self.name} must be one of {', '.join(self.choices)} (got {value!r})"
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                return f"{self.name} must be a whole number (got {value!r})"
        elif self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                return f"{self.name} must be a number (got {value!r})"
        if self.minimum is not None and value < self.minimum:
            return f"{self.name} must be at least {_fmt(self.minimum)} (got {_fmt(value)})"
        if self.maximum is not None and value > self.maximum:
            return f"{self.name} must be at most {_fmt(self.maximum)} (got {_fmt(value)})"
        return None

    def coerce(self, value: Any) -> Any:
        """Bring JSON-ish input (e.g. 3.0 for an int, 1 for a float) to this kind, unchanged if impossible."""
        if self.kind == "int" and isinstance(value, float) and value.is_integer():
            return int(value)
        if self.kind == "float" and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def shape_text(shape: Shape | None) -> str:
    """A shape as people read it: ``28×28×1`` or ``784``."""
    if shape is None:
        return "?"
    return "×".join(str(d) for d in shape) if shape else "scalar"


@dataclass(frozen=True)
class Context:
    """What shape inference needs from outside the graph: the dataset's sample shape and classes."""

    input_shape: Shape | None = None
    n_classes: int | None = None
    dataset_name: str = ""


class Role(enum.Enum):
    """What a layer type does to the values flowing through it; panels and the engine ask this."""

    INPUT = "input"  # brings a sample in
    WEIGHTED = "weighted"  # learns weights (a kernel, maybe a bias)
    POOLING = "pooling"  # summarises windows of an image, no weights
    RESHAPE = "reshape"  # rearranges values without changing them
    ELEMENTWISE = "elementwise"  # changes each value on its own, no weights
    MERGE = "merge"  # joins several inputs
    OUTPUT = "output"  # turns the last layer's values into the loss


# What a pooling type keeps of each window, and what a merge type does with its inputs.
REDUCTIONS = ("max", "mean")
MERGES = ("sum", "concat")


@dataclass(frozen=True)
class LayerType:
    """A kind of node: what it is for, its parameters, and how it maps shapes."""

    name: str
    category: str
    summary: str
    formula: str
    params: tuple[ParamSpec, ...]
    infer: Callable[[dict, list[Shape], Context], Shape]
    count: Callable[[dict, list[Shape], Shape], int] = lambda p, ins, out: 0
    min_inputs: int = 1
    max_inputs: int | None = 1  # None: any number
    has_output: bool = True
    icon: str = ""
    role: Role = Role.ELEMENTWISE
    activation_param: str | None = None  # the parameter naming the non-linearity, if any
    spatial: bool = False  # works on the maps of an image (the conv panels show it)
    reduce: str | None = None  # POOLING: what it keeps of each window, one of REDUCTIONS
    merge: str | None = None  # MERGE: how it joins its inputs, one of MERGES
    training_only: bool = False  # acts only while training and is the identity otherwise (Dropout)
    card: Callable[[dict], str] | None = None  # the editor card's summary line from the parameters

    @property
    def has_weights(self) -> bool:
        return self.role is Role.WEIGHTED

    @property
    def passes_through(self) -> bool:
        """Hands on one value per value it gets (reshaped or changed one by one), with no weights."""
        return self.role in (Role.RESHAPE, Role.ELEMENTWISE)

    def card_text(self, params: dict) -> str:
        """The few parameter values worth reading on the editor card, e.g. ``128 · sigmoid``."""
        if self.card is None:
            return ""
        try:
            return self.card(params)
        except (KeyError, TypeError, ValueError):
            return "check parameters"

    def activation(self, params: dict) -> str | None:
        """The activation these parameters choose, or None for a type without one."""
        return params.get(self.activation_param) if self.activation_param else None

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    def param(self, name: str) -> ParamSpec:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"{self.name} has no parameter {name!r}")

    def tooltip(self) -> str:
        return f"{self.name}: {self.summary}\n{self.formula}"

    def check_params(self, params: dict) -> list[str]:
        """Every problem with these parameter values, as messages."""
        problems = []
        for spec in self.params:
            if spec.name not in params:
                problems.append(f"missing parameter {spec.name}")
                continue
            msg = spec.check(params[spec.name])
            if msg:
                problems.append(msg)
        unknown = sorted(set(params) - {p.name for p in self.params})
        known = f"{self.name} has " + (", ".join(p.name for p in self.params) or "no parameters")
        problems += [f"unknown parameter {u!r} ({known}); remove it" for u in unknown]
        return problems


# ---------------------------------------------------------------- shape rules


def _only(inputs: list[Shape]) -> Shape:
    return inputs[0]


def _need_flat(kind: str, shape: Shape) -> None:
    if len(shape) != 1:
        raise ShapeError(
            f"{kind} needs a flat vector but gets an image of {shape_text(shape)}; insert a Flatten before it"
        )


def _need_image(kind: str, shape: Shape) -> None:
    if len(shape) != 3:
        raise ShapeError(
            f"{kind} needs an image (height×width×channels) but gets a flat vector of "
            f"{shape_text(shape)}; move it before the Flatten, or use Dense instead"
        )


def window_output(size: int, window: int, stride: int, padding: str) -> int:
    """Output length of a sliding window along one axis (TensorFlow / Flax convention)."""
    if padding == "same":
        return -(-size // stride)
    return (size - window) // stride + 1


def _infer_input(params: dict, inputs: list[Shape], ctx: Context) -> Shape:
    if ctx.input_shape is None:
        raise ShapeError("the input shape is unknown until a dataset is chosen")
    return tuple(ctx.input_shape)


def _infer_dense(params: dict, inputs: list[Shape], ctx: Context) -> Shape:
    _need_flat("Dense", _only(inputs))
    return (params["units"],)


def _infer_conv(params: dict, inputs: list[Shape], ctx: Context) -> Shape:
    shape = _only(inputs)
    _need_image("Conv2D", shape)
    h, w, _ = shape
    k, s, pad = params["kernel_size"], params["stride"], params["padding"]
    if pad == "valid" and (k > h or k > w):
        raise ShapeError(
            f"kernel {k}×{k} is larger than its {h}×{w} input; use a kernel of at most "
            f"{min(h, w)} or padding 'same'"
        )
    return (window_output(h, k, s, pad), window_output(w, k, s, pad), params["filters"])


def _infer_pool(kind: str):
    def infer(params: dict, inputs: list[Shape], ctx: Context) -> Shape:
        shape = _only(inputs)
        _need_image(kind, shape)
        h, w, c = shape
        win, s = params["window"], params["stride"]
        if win > h or win > w:
            raise ShapeError(
                f"window {win}×{win} is larger than its {h}×{w} input; use a window of at "
                f"most {min(h, w)} or remove this pooling layer"
            )
        return (window_output(h, win, s, "valid"), window_output(w, win, s, "valid"), c)

    return infer


def _infer_global_pool(kind: str):
    def infer(params: dict, inputs: list[Shape], ctx: Context) -> Shape:
        shape = _only(inputs)
        _need_image(kind, shape)
        return (shape[-1],)

    return infer


def _infer_flatten(params: dict, inputs: list[Shape], ctx: Context) -> Shape:
    return (math.prod(_only(inputs)),)


def _infer_add(params: dict, inputs: list[Shape], ctx: Context) -> Shape:
    first = inputs[0]
    for other in inputs[1:]:
        if other != first:
            raise ShapeError(
                "Add needs inputs of the same shape but gets "
                + " and ".join(shape_text(s) for s in inputs)
                + "; give the branches the same number of units or filters"
            )
    return first


def _infer_concat(params: dict, inputs: list[Shape], ctx: Context) -> Shape:
    ranks = {len(s) for s in inputs}
    if len(ranks) != 1:
        raise ShapeError(
            "Concatenate cannot join flat vectors and images ("
            + ", ".join(shape_text(s) for s in inputs)
            + "); Flatten the images first"
        )
    if ranks == {3}:
        sizes = {s[:2] for s in inputs}
        if len(sizes) != 1:
            raise ShapeError(
                "Concatenate joins images along channels, so their height×width must match, "
                "but gets " + ", ".join(shape_text(s) for s in inputs)
            )
        return (*inputs[0][:2], sum(s[2] for s in inputs))
    return (sum(s[-1] for s in inputs),) if ranks == {1} else _bad_rank(inputs)


def _bad_rank(inputs: list[Shape]) -> Shape:
    raise ShapeError("Concatenate cannot join " + ", ".join(shape_text(s) for s in inputs))


def _infer_output(params: dict, inputs: list[Shape], ctx: Context) -> Shape:
    shape = _only(inputs)
    _need_flat("Output", shape)
    k = ctx.n_classes
    if k is not None:
        allowed = {k, 1} if k == 2 else {k}
        if shape[0] not in allowed:
            what = f"{k} values, one per class" + (f" of {ctx.dataset_name}" if ctx.dataset_name else "")
            if k == 2:
                what += " (or 1 for a yes/no output)"
            raise ShapeError(
                f"Output expects {what}, but its input gives {shape[0]}; set the layer before it to {k} units"
            )
    return shape


def _count_dense(params: dict, inputs: list[Shape], out: Shape) -> int:
    n_in = inputs[0][0]
    return n_in * params["units"] + (params["units"] if params["use_bias"] else 0)


def _count_conv(params: dict, inputs: list[Shape], out: Shape) -> int:
    k, cin, f = params["kernel_size"], inputs[0][-1], params["filters"]
    return k * k * cin * f + (f if params["use_bias"] else 0)


# ---------------------------------------------------------------- the registry

_ACT = ParamSpec(
    "activation",
    "choice",
    "relu",
    "Non-linearity applied to each output; without one, stacked layers collapse to one linear map.",
    choices=ACTIVATIONS,
)
_ALPHA = ParamSpec(
    "alpha",
    "float",
    0.01,
    "Slope of leaky ReLU for negative inputs; keeps a small gradient so units cannot die.",
    minimum=0.0,
    maximum=1.0,
)
_BIAS = ParamSpec("use_bias", "bool", True, "Add a learned bias b to every output.", label="Use bias")

LAYER_TYPES: dict[str, LayerType] = {}


def _register(t: LayerType) -> LayerType:
    if (t.role is Role.POOLING) != (t.reduce in REDUCTIONS):
        raise ValueError(f"{t.name}: a pooling type says what it keeps of a window, one of {REDUCTIONS}")
    if (t.role is Role.MERGE) != (t.merge in MERGES):
        raise ValueError(f"{t.name}: a merge type says how it joins its inputs, one of {MERGES}")
    if t.activation_param is not None and t.activation_param not in {p.name for p in t.params}:
        raise ValueError(
            f"{t.name}: its activation parameter {t.activation_param!r} is not one of its parameters"
        )
    LAYER_TYPES[t.name] = t
    return t


_register(
    LayerType(
        "Input",
        "Data",
        "Feeds one sample of the dataset into the network; its shape comes from the dataset.",
        "output = x",
        (),
        _infer_input,
        min_inputs=0,
        max_inputs=0,
        role=Role.INPUT,
        icon="input",
    )
)
_register(
    LayerType(
        "Dense",
        "Layers",
        "Every output unit is a weighted sum of all inputs plus a bias, passed through an activation.",
        "output = f(W·x + b)",
        (
            ParamSpec("units", "int", 16, "Number of neurons in this layer.", 1, 4096),
            _ACT,
            _ALPHA,
            _BIAS,
        ),
        _infer_dense,
        _count_dense,
        role=Role.WEIGHTED,
        activation_param="activation",
        card=lambda p: f"{p['units']} · {activation_title(p['activation'])}",
        icon="dense",
    )
)
_register(
    LayerType(
        "Conv2D",
        "Layers",
        "Slides small learned filters over the image; each filter yields one feature map.",
        "output[i,j,f] = act(sum_{u,v,c} K[u,v,c,f] · x[i*s+u, j*s+v, c] + b[f])",
        (
            ParamSpec("filters", "int", 8, "Number of filters, i.e. output feature maps.", 1, 512),
            ParamSpec(
                "kernel_size", "int", 3, "Height and width of each filter.", 1, 11, label="Kernel size"
            ),
            ParamSpec("stride", "int", 1, "Step between filter positions.", 1, 8),
            ParamSpec(
                "padding",
                "choice",
                "same",
                "'same' pads the border so the size only shrinks by the stride; 'valid' does not pad.",
                choices=("same", "valid"),
            ),
            _ACT,
            _ALPHA,
            _BIAS,
        ),
        _infer_conv,
        _count_conv,
        role=Role.WEIGHTED,
        activation_param="activation",
        spatial=True,
        card=lambda p: (
            f"{p['filters']} {p['kernel_size']}×{p['kernel_size']} s{p['stride']} {p['padding']} · "
            f"{activation_title(p['activation'])}"
        ),
        icon="conv",
    )
)
for _pool, _what, _formula, _reduce in (
    ("MaxPool2D", "the largest value", "output[i,j,c] = max over the window of x", "max"),
    ("AvgPool2D", "the average", "output[i,j,c] = mean over the window of x", "mean"),
):
    _register(
        LayerType(
            _pool,
            "Pooling",
            f"Shrinks each feature map by keeping {_what} of every window; no weights to learn.",
            _formula,
            (
                ParamSpec("window", "int", 2, "Height and width of the pooling window.", 1, 16),
                ParamSpec(
                    "stride", "int", 2, "Step between windows (equal to the window: no overlap).", 1, 16
                ),
            ),
            _infer_pool(_pool),
            role=Role.POOLING,
            spatial=True,
            reduce=_reduce,
            card=lambda p: f"{p['window']}×{p['window']} s{p['stride']}",
            icon=_pool.lower(),
        )
    )
_register(
    LayerType(
        "GlobalAveragePool2D",
        "Pooling",
        "Averages each whole feature map down to one number, so an image of any size becomes "
        "one value per channel; no weights to learn, and no Flatten needed after it.",
        "output[c] = mean over every i,j of x[i,j,c]",
        (),
        _infer_global_pool("GlobalAveragePool2D"),
        role=Role.POOLING,
        spatial=True,
        reduce="mean",
        icon="globalaveragepool2d",
    )
)
_register(
    LayerType(
        "Flatten",
        "Structure",
        "Unrolls an image (height×width×channels) into one long vector for Dense layers.",
        "output = reshape(x, [h·w·c])",
        (),
        _infer_flatten,
        role=Role.RESHAPE,
        icon="flatten",
    )
)
_register(
    LayerType(
        "Activation",
        "Layers",
        "Applies a non-linearity to every value on its own.",
        "output = f(x)",
        (
            ParamSpec("function", "choice", "relu", "The activation function.", choices=ACTIVATIONS),
            _ALPHA,
        ),
        lambda p, ins, ctx: _only(ins),
        role=Role.ELEMENTWISE,
        activation_param="function",
        card=lambda p: activation_title(p["function"]),
        icon="activation",
    )
)
_register(
    LayerType(
        "Dropout",
        "Regularisation",
        "While training, zeroes a random fraction of its inputs so no unit can rely on another.",
        "output = mask · x / (1 - rate), mask ~ Bernoulli(1 - rate)",
        (ParamSpec("rate", "float", 0.5, "Fraction of inputs dropped at each training step.", 0.0, 0.95),),
        lambda p, ins, ctx: _only(ins),
        role=Role.ELEMENTWISE,
        training_only=True,
        card=lambda p: f"rate {p['rate']:g}",
        icon="dropout",
    )
)
_register(
    LayerType(
        "Add",
        "Merge",
        "Adds its inputs element by element, e.g. for a residual (skip) connection.",
        "output = x1 + x2 + ...",
        (),
        _infer_add,
        min_inputs=2,
        max_inputs=None,
        role=Role.MERGE,
        merge="sum",
        icon="add",
    )
)
_register(
    LayerType(
        "Concatenate",
        "Merge",
        "Joins its inputs side by side (images along their channels).",
        "output = [x1, x2, ...]",
        (),
        _infer_concat,
        min_inputs=2,
        max_inputs=None,
        role=Role.MERGE,
        merge="concat",
        icon="concat",
    )
)
_register(
    LayerType(
        "Output",
        "Data",
        "Compares the network's answer with the target and turns the difference into the loss.",
        "cross-entropy: L = -sum_k y_k log p_k;  MSE: L = mean_k (p_k - y_k)^2",
        (
            ParamSpec(
                "loss",
                "choice",
                "cross_entropy",
                "cross_entropy for classes (softmax), mse for regression or one-hot targets.",
                choices=LOSSES,
            ),
        ),
        _infer_output,
        max_inputs=1,
        has_output=False,
        role=Role.OUTPUT,
        card=lambda p: LOSS_TITLES.get(p["loss"], str(p["loss"])),
        icon="output",
    )
)


def layer_type(name: str) -> LayerType:
    """The registered type called ``name``; KeyError with the known names otherwise."""
    try:
        return LAYER_TYPES[name]
    except KeyError:
        raise KeyError(f"unknown layer type {name!r}; known: {', '.join(LAYER_TYPES)}") from None
