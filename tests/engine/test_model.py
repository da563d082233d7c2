"""The graph -> Flax model builder against hand-written numpy / lax references.

Every layer type is checked by running a small model with ``collect=True`` and
recomputing each node from the model's own parameters with plain numpy (or
``lax.conv_general_dilated`` for convolutions), so both the forward pass and the
layouts (NHWC activations, Flax kernel layouts) are pinned down.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from nnviz.core.graph import Network, analyze
from nnviz.core.layers import LAYER_TYPES, Context
from nnviz.engine.model import (
    BUILDERS,
    GraphModel,
    ModelError,
    build_model,
    head_losses,
    head_probabilities,
)

RTOL, ATOL = 1e-5, 1e-5


def make(net: Network, input_shape, n_classes, *, init=None, seed=0):
    """Build a model; without ``init``, fill every parameter with numpy random values.

    Filling from numpy (non-zero biases included, so a misplaced bias shows) avoids
    compiling JAX's random initialisers for every new shape, which dominates the time.
    """
    ctx = Context(tuple(input_shape), n_classes, "test")
    analysis = analyze(net, ctx)
    assert analysis.ok, analysis.messages(net)
    model = build_model(net, analysis, ctx, init=init or "zeros", seed=seed)
    if init is None:
        rng = np.random.default_rng(seed)
        for layer in model.layers.values():
            k = layer.kernel[...]
            fan_in = math.prod(k.shape[:-1])
            layer.kernel[...] = jnp.asarray(rng.normal(size=k.shape) / math.sqrt(fan_in), jnp.float32)
            if layer.bias is not None:
                layer.bias[...] = jnp.asarray(rng.normal(size=layer.bias.shape) * 0.5, jnp.float32)
    return model, analysis


def params_of(model: GraphModel) -> dict[str, dict[str, np.ndarray]]:
    _, state = nnx.split(model)
    pure = nnx.to_pure_dict(state)
    return {nid: {k: np.asarray(v) for k, v in p.items()} for nid, p in pure.get("layers", {}).items()}


def run(model, x, **kw):
    """Forward pass with every node collected, compiled once (much faster than op by op)."""
    key = kw.pop("key", None)
    graphdef, state = nnx.split(model)
    fn = jax.jit(lambda s, x, key: nnx.merge(graphdef, s)(x, collect=True, key=key, **kw))
    out = fn(state, jnp.asarray(x), key)
    return {k: np.asarray(v) for k, v in out["nodes"].items()}, out


def ids(net: Network, type_name: str) -> list[str]:
    return [n.id for n in net.nodes_of_type(type_name)]


def rand(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


# ---------------------------------------------------------------- numpy references


def np_act(name, z, alpha=0.01, axis=-1):
    if name == "linear":
        return z
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0)
    if name == "leaky_relu":
        return np.where(z >= 0, z, alpha * z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)
    raise AssertionError(name)


def np_pool(x, window, stride, reduce):
    n, h, w, c = x.shape
    ho, wo = (h - window) // stride + 1, (w - window) // stride + 1
    out = np.zeros((n, ho, wo, c), np.float32)
    for i in range(ho):
        for j in range(wo):
            patch = x[:, i * stride : i * stride + window, j * stride : j * stride + window, :]
            out[:, i, j, :] = reduce(patch, axis=(1, 2))
    return out


def ref_conv(x, kernel, bias, stride, padding):
    y = jax.lax.conv_general_dilated(
        jnp.asarray(x),
        jnp.asarray(kernel),
        (stride, stride),
        padding.upper(),
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
        precision=jax.lax.Precision.HIGHEST,
    )
    y = np.asarray(y)
    return y + bias if bias is not None else y


def close(a, b, tol=RTOL):
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


# ---------------------------------------------------------------- layers


def test_dense_chain_matches_numpy_and_flax_layout():
    net = Network.chain(
        "Input",
        ("Dense", {"units": 5, "activation": "relu"}),
        ("Dense", {"units": 3, "activation": "linear", "use_bias": False}),
        ("Dense", {"units": 2, "activation": "softmax"}),
        "Output",
    )
    model, analysis = make(net, (4,), 2)
    p = params_of(model)
    d1, d2, d3 = ids(net, "Dense")
    assert p[d1]["kernel"].shape == (4, 5) and p[d1]["bias"].shape == (5,)
    assert set(p[d2]) == {"kernel"} and p[d2]["kernel"].shape == (5, 3)  # no bias
    assert p[d3]["kernel"].shape == (3, 2)
    x = rand((6, 4))
    nodes, out = run(model, x)
    h1 = np.maximum(x @ p[d1]["kernel"] + p[d1]["bias"], 0)
    h2 = h1 @ p[d2]["kernel"]
    z3 = h2 @ p[d3]["kernel"] + p[d3]["bias"]
    close(nodes[d1], h1)
    close(nodes[d2], h2)
    close(nodes[d3], np_act("softmax", z3))
    close(np.asarray(out["output"]), np_act("softmax", z3))
    close(np.asarray(out["logits"]), z3)  # the values before the final softmax


@pytest.mark.parametrize("padding,stride", [("same", 1), ("valid", 1), ("same", 2), ("valid", 2)])
def test_conv2d_matches_lax_reference(padding, stride):
    net = Network.chain(
        "Input",
        (
            "Conv2D",
            {"filters": 4, "kernel_size": 3, "stride": stride, "padding": padding, "activation": "linear"},
        ),
        "Flatten",
        ("Dense", {"units": 3, "activation": "softmax"}),
        "Output",
    )
    model, analysis = make(net, (7, 6, 2), 3)
    (cid,) = ids(net, "Conv2D")
    p = params_of(model)[cid]
    assert p["kernel"].shape == (3, 3, 2, 4) and p["bias"].shape == (4,)  # Flax (kh, kw, in, out)
    assert np.any(p["bias"])  # non-zero, so a wrong bias axis would show
    x = rand((3, 7, 6, 2))
    nodes, _ = run(model, x)
    want = ref_conv(x, p["kernel"], p["bias"], stride, padding)
    assert nodes[cid].shape == (3, *analysis.shapes[cid])
    close(nodes[cid], want, 1e-4)


def test_conv2d_without_bias_and_with_relu():
    net = Network.chain(
        "Input",
        (
            "Conv2D",
            {"filters": 2, "kernel_size": 2, "padding": "valid", "activation": "relu", "use_bias": False},
        ),
        "Flatten",
        ("Dense", {"units": 2}),
        "Output",
    )
    model, _ = make(net, (4, 4, 1), 2)
    (cid,) = ids(net, "Conv2D")
    p = params_of(model)[cid]
    assert set(p) == {"kernel"}
    x = rand((2, 4, 4, 1), 1)
    nodes, _ = run(model, x)
    close(nodes[cid], np.maximum(ref_conv(x, p["kernel"], None, 1, "valid"), 0), 1e-4)


@pytest.mark.parametrize("kind,reduce", [("MaxPool2D", np.max), ("AvgPool2D", np.mean)])
@pytest.mark.parametrize("window,stride", [(2, 2), (3, 1), (2, 3)])
def test_pooling_matches_numpy(kind, reduce, window, stride):
    net = Network.chain(
        "Input", (kind, {"window": window, "stride": stride}), "Flatten", ("Dense", {"units": 2}), "Output"
    )
    model, analysis = make(net, (7, 8, 3), 2)
    (pid,) = ids(net, kind)
    x = rand((2, 7, 8, 3), 2)
    nodes, _ = run(model, x)
    want = np_pool(x, window, stride, reduce)
    assert want.shape[1:] == analysis.shapes[pid]
    close(nodes[pid], want)


def test_flatten_is_nhwc_row_major():
    net = Network.chain(
        "Input",
        ("Conv2D", {"filters": 3, "kernel_size": 1, "activation": "linear"}),
        "Flatten",
        ("Dense", {"units": 2}),
        "Output",
    )
    model, _ = make(net, (2, 3, 2), 2)
    (cid,), (fid,) = ids(net, "Conv2D"), ids(net, "Flatten")
    x = rand((2, 2, 3, 2), 3)
    nodes, _ = run(model, x)
    close(nodes[fid], nodes[cid].reshape(2, -1))  # Keras/numpy order: h, w, then channel
    assert nodes[fid].shape == (2, 18)


@pytest.mark.parametrize("function", ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "softmax"])
def test_activation_layer_flat(function):
    net = Network.chain(
        "Input",
        ("Dense", {"units": 5, "activation": "linear"}),
        ("Activation", {"function": function, "alpha": 0.2}),
        ("Dense", {"units": 2}),
        "Output",
    )
    model, _ = make(net, (3,), 2)
    (did,), (aid,) = ids(net, "Dense")[:1], ids(net, "Activation")
    x = rand((8, 3), 4) * 3
    nodes, _ = run(model, x)
    close(nodes[aid], np_act(function, nodes[did], alpha=0.2))
    if function == "leaky_relu":  # the alpha parameter really is used
        neg = nodes[did] < 0
        assert neg.any()
        close(nodes[aid][neg], 0.2 * nodes[did][neg])


def test_dense_leaky_relu_alpha_and_image_softmax_over_channels():
    net = Network.chain(
        "Input",
        ("Dense", {"units": 6, "activation": "leaky_relu", "alpha": 0.3}),
        ("Dense", {"units": 2}),
        "Output",
    )
    model, _ = make(net, (3,), 2)
    d1 = ids(net, "Dense")[0]
    p = params_of(model)[d1]
    x = rand((5, 3), 5) * 4
    nodes, _ = run(model, x)
    close(nodes[d1], np_act("leaky_relu", x @ p["kernel"] + p["bias"], 0.3))

    net = Network.chain(
        "Input", ("Activation", {"function": "softmax"}), "Flatten", ("Dense", {"units": 2}), "Output"
    )
    model, _ = make(net, (3, 3, 4), 2)
    (aid,) = ids(net, "Activation")
    x = rand((2, 3, 3, 4), 6)
    nodes, _ = run(model, x)
    close(nodes[aid], np_act("softmax", x, axis=-1))  # per pixel, across channels


def test_dropout_identity_in_eval_and_scaled_mask_in_train():
    net = Network.chain(
        "Input",
        ("Dense", {"units": 64, "activation": "linear"}),
        ("Dropout", {"rate": 0.25}),
        ("Dense", {"units": 2}),
        "Output",
    )
    model, _ = make(net, (4,), 2)
    (did,), (drop,) = ids(net, "Dense")[:1], ids(net, "Dropout")
    x = rand((50, 4), 7)
    nodes, _ = run(model, x)
    close(nodes[drop], nodes[did])  # eval: identity
    nodes, _ = run(model, x, train=True)  # no key: nothing to draw from, identity
    close(nodes[drop], nodes[did])
    nodes, _ = run(model, x, train=True, key=jax.random.PRNGKey(1))
    before, after = nodes[did], nodes[drop]
    kept = after != 0
    close(after[kept], before[kept] / 0.75)
    frac = 1 - kept.mean()
    assert 0.18 < frac < 0.32, frac
    # Same key, same mask; another key, another mask.
    again, _ = run(model, x, train=True, key=jax.random.PRNGKey(1))
    np.testing.assert_array_equal(again[drop], after)
    other, _ = run(model, x, train=True, key=jax.random.PRNGKey(2))
    assert not np.array_equal(other[drop], after)


def _branching(merge: str, image: bool) -> tuple[Network, dict]:
    net = Network()
    inp = net.add_node("Input")
    if image:
        a = net.add_node("Conv2D", {"filters": 2, "kernel_size": 3, "activation": "tanh"})
        b = net.add_node(
            "Conv2D", {"filters": 2 if merge == "Add" else 3, "kernel_size": 1, "activation": "linear"}
        )
    else:
        a = net.add_node("Dense", {"units": 4, "activation": "tanh"})
        b = net.add_node("Dense", {"units": 4 if merge == "Add" else 3, "activation": "linear"})
    m = net.add_node(merge)
    rest = [net.add_node("Flatten")] if image else []
    head = net.add_node("Dense", {"units": 3, "activation": "softmax"})
    out = net.add_node("Output")
    net.connect(inp.id, a.id)
    net.connect(inp.id, b.id)
    net.connect(b.id, m.id)  # b first: Concatenate keeps edge order
    net.connect(a.id, m.id)
    chain = [m, *rest, head, out]
    for s, t in zip(chain, chain[1:]):
        net.connect(s.id, t.id)
    return net, {"a": a.id, "b": b.id, "m": m.id}


@pytest.mark.parametrize("merge", ["Add", "Concatenate"])
@pytest.mark.parametrize("image", [False, True])
def test_merge_layers(merge, image):
    net, n = _branching(merge, image)
    shape = (5, 4, 2) if image else (3,)
    model, analysis = make(net, shape, 3)
    x = rand((2, *shape), 8)
    nodes, _ = run(model, x)
    want = (
        nodes[n["b"]] + nodes[n["a"]]
        if merge == "Add"
        else np.concatenate([nodes[n["b"]], nodes[n["a"]]], axis=-1)
    )
    close(nodes[n["m"]], want)
    assert nodes[n["m"]].shape == (2, *analysis.shapes[n["m"]])


def test_whole_cnn_against_numpy_forward():
    """A full little CNN recomputed end to end from its parameters."""
    net = Network.chain(
        "Input",
        ("Conv2D", {"filters": 3, "kernel_size": 3, "activation": "relu"}),
        ("MaxPool2D", {"window": 2, "stride": 2}),
        ("Conv2D", {"filters": 2, "kernel_size": 2, "padding": "valid", "activation": "sigmoid"}),
        ("AvgPool2D", {"window": 2, "stride": 1}),
        "Flatten",
        ("Dense", {"units": 4, "activation": "softmax"}),
        "Output",
    )
    model, _ = make(net, (8, 8, 1), 4, seed=3)
    p = params_of(model)
    c1, c2 = ids(net, "Conv2D")
    (d,) = ids(net, "Dense")
    x = rand((3, 8, 8, 1), 9)
    h = np.maximum(ref_conv(x, p[c1]["kernel"], p[c1]["bias"], 1, "same"), 0)
    h = np_pool(h, 2, 2, np.max)
    h = np_act("sigmoid", ref_conv(h, p[c2]["kernel"], p[c2]["bias"], 1, "valid"))
    h = np_pool(h, 2, 1, np.mean).reshape(3, -1)
    want = np_act("softmax", h @ p[d]["kernel"] + p[d]["bias"])
    out = model(jnp.asarray(x))
    close(np.asarray(out["output"]), want, 1e-4)


# ---------------------------------------------------------------- collect, params, init


def _nets():
    flat = Network.chain(
        "Input",
        ("Dense", {"units": 15, "activation": "sigmoid"}),
        ("Dense", {"units": 10, "activation": "sigmoid"}),
        ("Output", {"loss": "mse"}),
    )
    cnn = Network.chain(
        "Input",
        ("Conv2D", {"filters": 4, "kernel_size": 3}),
        ("MaxPool2D", {}),
        ("Conv2D", {"filters": 3, "kernel_size": 3, "stride": 2, "use_bias": False}),
        ("Dropout", {"rate": 0.3}),
        "Flatten",
        ("Dense", {"units": 10, "activation": "softmax"}),
        "Output",
    )
    res, _ = _branching("Add", True)
    cat, _ = _branching("Concatenate", False)
    return [(flat, (784,), 10), (cnn, (12, 12, 1), 10), (res, (6, 6, 2), 3), (cat, (5,), 3)]


@pytest.mark.parametrize("which", range(4))
def test_collect_shapes_and_param_counts_match_analysis(which):
    net, shape, k = _nets()[which]
    model, analysis = make(net, shape, k)
    nodes, _ = run(model, rand((2, *shape)))
    assert set(nodes) == set(net.nodes)
    for nid, value in nodes.items():
        assert value.shape == (2, *analysis.shapes[nid]), net.nodes[nid].name
    real = sum(v.size for p in params_of(model).values() for v in p.values())
    assert real == analysis.total_params
    for nid, p in params_of(model).items():
        assert sum(v.size for v in p.values()) == analysis.param_counts[nid]


def test_784_15_10_has_11935_parameters():
    net, shape, k = _nets()[0]
    model, analysis = make(net, shape, k)
    assert analysis.total_params == 11935
    assert sum(v.size for p in params_of(model).values() for v in p.values()) == 11935


def test_zero_init_and_seeds():
    net, shape, k = _nets()[1]
    assert "bias" not in params_of(make(net, shape, k)[0])[ids(net, "Conv2D")[1]]
    zeros, _ = make(net, shape, k, init="zeros")
    for p in params_of(zeros).values():
        assert not np.any(p["kernel"])
        if "bias" in p:
            assert not np.any(p["bias"])
    a = params_of(make(net, shape, k, seed=5)[0])
    b = params_of(make(net, shape, k, seed=5)[0])
    c = params_of(make(net, shape, k, seed=6)[0])
    for nid in a:
        np.testing.assert_array_equal(a[nid]["kernel"], b[nid]["kernel"])
        assert not np.array_equal(a[nid]["kernel"], c[nid]["kernel"])


def test_named_initialisers_have_their_scale():
    net = Network.chain(
        "Input",
        ("Dense", {"units": 40, "activation": "relu"}),
        ("Dense", {"units": 2, "activation": "softmax"}),
        "Output",
    )
    d1 = ids(net, "Dense")[0]
    for init in ("glorot_uniform", "he_normal", "lecun_normal", "auto"):  # the rest share code paths
        p = params_of(make(net, (60,), 2, init=init)[0])
        k1 = p[d1]["kernel"]
        assert np.all(np.isfinite(k1)) and not np.any(p[d1]["bias"]), init
        want_std = {
            "glorot_uniform": math.sqrt(2 / 100),
            "glorot_normal": math.sqrt(2 / 100),
            "he_uniform": math.sqrt(2 / 60),
            "he_normal": math.sqrt(2 / 60),
            "lecun_normal": math.sqrt(1 / 60),
            "auto": math.sqrt(2 / 60),
        }[init]  # auto: He for a ReLU layer
        assert abs(k1.std() / want_std - 1) < 0.15, (init, k1.std(), want_std)
        if init == "glorot_uniform":
            assert np.abs(k1).max() <= math.sqrt(6 / 100) + 1e-6


def test_every_registered_layer_type_has_one_builder():
    assert sorted(BUILDERS) == sorted(LAYER_TYPES)
    for name, t in LAYER_TYPES.items():
        # Exactly the types with weights make a Flax layer (the parameter counts assume it).
        assert (BUILDERS[name].make is not None) == t.has_weights, name


def test_invalid_network_is_refused():
    net = Network.chain("Input", ("Dense", {"units": 3}), "Output")
    ctx = Context((4,), 2)
    with pytest.raises(ModelError, match="output_1 \\(Output\\)"):
        GraphModel(net, analyze(net, ctx), ctx, rngs=nnx.Rngs(0))


# ---------------------------------------------------------------- the loss head


def _head_model(units, activation, loss, n_classes):
    net = Network.chain(
        "Input", ("Dense", {"units": units, "activation": activation}), ("Output", {"loss": loss})
    )
    model, _ = make(net, (3,), n_classes, seed=1)
    return model


def test_cross_entropy_on_softmax_is_minus_log_softmax():
    model = _head_model(4, "softmax", "cross_entropy", 4)
    x, y = rand((10, 3), 11) * 3, np.arange(10) % 4
    out = model(jnp.asarray(x))
    probs = np.asarray(out["output"])
    got = np.asarray(head_losses(model.head, out, jnp.asarray(y)))
    close(got, -np.log(probs[np.arange(10), y]), 1e-5)
    close(np.asarray(head_probabilities(model.head, out)), probs)
    assert got.shape == (10,)


def test_cross_entropy_on_linear_layer_reads_logits():
    model = _head_model(3, "linear", "cross_entropy", 3)
    x, y = rand((6, 3), 12), np.arange(6) % 3
    out = model(jnp.asarray(x))
    z = np.asarray(out["output"])
    got = np.asarray(head_losses(model.head, out, jnp.asarray(y)))
    close(got, -np.log(np_act("softmax", z)[np.arange(6), y]))


def test_single_sigmoid_unit_binary_cross_entropy():
    model = _head_model(1, "sigmoid", "cross_entropy", 2)
    x, y = rand((8, 3), 13) * 2, np.array([0, 1] * 4)
    out = model(jnp.asarray(x))
    p = np.asarray(out["output"])[:, 0]
    got = np.asarray(head_losses(model.head, out, jnp.asarray(y)))
    close(got, -(y * np.log(p) + (1 - y) * np.log(1 - p)), 1e-5)
    probs = np.asarray(head_probabilities(model.head, out))
    close(probs, np.stack([1 - p, p], 1))


def test_mse_on_one_hot_targets():
    model = _head_model(3, "sigmoid", "mse", 3)
    x, y = rand((7, 3), 14), np.arange(7) % 3
    out = model(jnp.asarray(x))
    pred = np.asarray(out["output"])
    got = np.asarray(head_losses(model.head, out, jnp.asarray(y)))
    close(got, ((pred - np.eye(3)[y]) ** 2).mean(axis=1))
    close(np.asarray(head_probabilities(model.head, out)), pred)


def test_tanh_single_unit_mse_targets_are_plus_minus_one():
    model = _head_model(1, "tanh", "mse", 2)
    x, y = rand((8, 3), 15) * 2, np.array([0, 1] * 4)
    out = model(jnp.asarray(x))
    pred = np.asarray(out["output"])[:, 0]
    got = np.asarray(head_losses(model.head, out, jnp.asarray(y)))
    close(got, (pred - (2 * y - 1)) ** 2)
    probs = np.asarray(head_probabilities(model.head, out))
    close(probs[:, 1], (pred + 1) / 2)


def test_sigmoid_single_unit_mse_targets_are_zero_one():
    model = _head_model(1, "sigmoid", "mse", 2)
    x, y = rand((8, 3), 16), np.array([0, 1] * 4)
    out = model(jnp.asarray(x))
    pred = np.asarray(out["output"])[:, 0]
    close(np.asarray(head_losses(model.head, out, jnp.asarray(y))), (pred - y) ** 2)


def test_cross_entropy_is_finite_for_saturated_softmax():
    """The head works on logits, so a confidently wrong answer gives a large finite loss."""
    model = _head_model(2, "softmax", "cross_entropy", 2)
    (did,) = [s.node_id for s in model.plan if s.type == "Dense"]
    model.layers[did].kernel[...] = jnp.array([[200.0, -200.0]] * 3)
    out = model(jnp.ones((1, 3)))
    loss = float(head_losses(model.head, out, jnp.array([1]))[0])
    assert math.isfinite(loss) and loss > 1000
