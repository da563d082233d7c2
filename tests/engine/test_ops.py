"""nnviz.engine.ops against the reference NHWC ops: values and gradients, many shapes.

Each case compiles one small jitted function holding both implementations; inputs come
from numpy so that no threefry kernel has to be compiled per shape.
"""

import functools
import itertools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from nnviz.engine import ops

RTOL = 1e-5
ATOL = 1e-5

# Compile without XLA's backend optimisations: the tests check numerics, not speed, and
# on a 2-core CPU this cuts compile time ~5x (measured: 10 conv cases 19 s -> 3 s).
_jit = functools.partial(jax.jit, compiler_options={"xla_backend_optimization_level": 0})


def _rand(key, shape):
    # numpy, not jax.random: eager threefry compiles anew for every shape (~1 s each).
    return jnp.asarray(np.random.default_rng(key).standard_normal(shape, dtype=np.float32))


def _close(a, b, what):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=RTOL, atol=ATOL, err_msg=what)


# ---------------------------------------------------------------------- layout / shapes


def test_layout_round_trip():
    x = _rand(0, (2, 5, 3, 4))
    y = ops.to_internal(x)
    assert ops.LAYOUT == "CHWN"
    assert y.shape == (4, 5, 3, 2)
    assert y.shape[ops.CHANNEL_AXIS] == 4
    _close(ops.to_nhwc(y), x, "round trip")


def test_output_hw_matches_lax():
    for h, w, k, s, p in itertools.product((1, 4, 5, 7), (6, 9), (1, 2, 3, 5), (1, 2, 3), ("same", "valid")):
        if p == "valid" and k > min(h, w):
            continue
        x = jax.ShapeDtypeStruct((1, h, w, 1), jnp.float32)
        kern = jax.ShapeDtypeStruct((k, k, 1, 1), jnp.float32)
        ref = jax.eval_shape(
            lambda a, b: lax.conv_general_dilated(
                a, b, (s, s), p.upper(), dimension_numbers=("NHWC", "HWIO", "NHWC")
            ),
            x,
            kern,
        )
        assert ops.output_hw(h, w, k, s, p) == ref.shape[1:3], (h, w, k, s, p)
        assert ops.output_hw(h, w, (k, k), (s, s), p.upper()) == ref.shape[1:3]


def test_output_hw_rejects_bad_padding():
    with pytest.raises(ValueError):
        ops.output_hw(5, 5, 3, 1, "full")


# ---------------------------------------------------------------------------- conv2d

# (N, H, W, Cin, Cout, kernel (kh, kw), stride, padding)
CONV_CASES = [
    (n, h, w, cin, cout, k, s, p)
    for (k, s, p), (n, h, w, cin, cout) in zip(
        itertools.product(((1, 1), (2, 2), (3, 3), (5, 5), (2, 3)), (1, 2, 3), ("same", "valid")),
        itertools.cycle([(1, 7, 5, 1, 3), (7, 6, 8, 3, 8), (2, 9, 6, 8, 1), (7, 5, 7, 3, 3)]),
    )
]


def _ref_conv(x, k, b, s, p):
    y = lax.conv_general_dilated(x, k, s, p.upper(), dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y + b


def _our_conv(x, k, b, s, p):
    return ops.to_nhwc(ops.conv2d(ops.to_internal(x), k, b, stride=s, padding=p))


def _value_and_grads(fn, *args):
    """fn(*args) and the gradient of <fn(*args), cotangent> wrt every arg (one VJP).

    The cotangent is a fixed non-constant pattern; built with jnp, not jax.random,
    because threefry inside a jit costs seconds of compile time per case here."""
    y, vjp = jax.vjp(fn, *args)
    t = jnp.sin(jnp.arange(y.size, dtype=y.dtype) * 1.7).reshape(y.shape)
    return (y,) + vjp(t)


@pytest.mark.parametrize(
    "case", CONV_CASES, ids=lambda c: "n{}_{}x{}_c{}-{}_k{}x{}_s{}_{}".format(*c[:5], *c[5], *c[6:])
)
def test_conv2d_values_and_grads(case):
    n, h, w, cin, cout, k, s, p = case
    x, kern, b = _rand(1, (n, h, w, cin)), _rand(2, k + (cin, cout)), _rand(3, (cout,))

    # One jit per case holding both implementations: one compile, and far cheaper
    # than one jit over all cases (XLA compile time grows faster than linearly).
    @_jit
    def both(x, kern, b):
        return (
            _value_and_grads(lambda *a: _ref_conv(*a, (s, s), p), x, kern, b),
            _value_and_grads(lambda *a: _our_conv(*a, (s, s), p), x, kern, b),
        )

    ref, ours = both(x, kern, b)
    assert ours[0].shape == (n,) + ops.output_hw(h, w, k, s, p) + (cout,)
    for name, a_, b_ in zip(("y", "dx", "dkernel", "dbias"), ours, ref):
        _close(a_, b_, f"{name} {case}")


def test_conv2d_without_bias_and_validation():
    x = _rand(1, (2, 6, 6, 3))
    k = _rand(2, (3, 3, 3, 4))
    ref = lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    ours = _jit(lambda x, k: ops.to_nhwc(ops.conv2d(ops.to_internal(x), k, None)))(x, k)
    _close(ours, ref, "no bias")
    with pytest.raises(ValueError):
        ops.conv2d(ops.to_internal(x), _rand(3, (3, 3, 2, 4)), None)  # wrong Cin
    with pytest.raises(ValueError):
        ops.conv2d(ops.to_internal(x), _rand(3, (7, 7, 3, 4)), None, padding="valid")


# ------------------------------------------------------------------------------ pools

# (N, H, W, C, window, stride): overlapping, non-overlapping, gapped, uneven tiling.
POOL_CASES = [
    (n, h, w, c, win, s)
    for (win, s), (n, h, w, c) in zip(
        itertools.product(((2, 2), (3, 3), (2, 3)), ((1, 1), (2, 2), (3, 3), (2, 1))),
        itertools.cycle([(1, 7, 5, 1), (7, 6, 8, 3), (2, 9, 7, 8), (7, 8, 8, 3)]),
    )
]


def _pool_pair(kind):
    ref_fn = {"max": nn.max_pool, "avg": nn.avg_pool}[kind]
    our_fn = {"max": ops.max_pool, "avg": ops.avg_pool}[kind]

    def ref(x, win, s):
        return ref_fn(x, win, s, "VALID")

    def ours(x, win, s):
        return ops.to_nhwc(our_fn(ops.to_internal(x), window=win, stride=s))

    return ref, ours


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize(
    "case", POOL_CASES, ids=lambda c: "n{}_{}x{}_c{}_w{}x{}_s{}x{}".format(*c[:4], *c[4], *c[5])
)
def test_pool_values_and_grads(kind, case):
    ref, ours = _pool_pair(kind)
    n, h, w, c, win, s = case
    x = _rand(7, (n, h, w, c))
    if kind == "max" and (n + h) % 2:
        x = jnp.round(x)  # many ties inside windows: the tie rule must match jax's

    @_jit
    def both(x):
        return (
            _value_and_grads(lambda a: ref(a, win, s), x),
            _value_and_grads(lambda a: ours(a, win, s), x),
        )

    (ry, rg), (oy, og) = both(x)
    assert oy.shape == ry.shape == (n,) + ops.output_hw(h, w, win, s, "valid") + (c,)
    _close(oy, ry, f"{kind} y {case}")
    _close(og, rg, f"{kind} dx {case}")


def test_max_pool_grad_one_argmax_per_window_and_ties():
    # All-equal input: every window is a tie.  Gradient must go to the first element
    # (row-major) of each window, as jax's reduce_window grad does, and mass per
    # window is conserved (sum of gradient == number of windows).
    x = jnp.ones((2, 5, 7, 3), jnp.float32)  # internal (C, H, W, N)
    for win, s in [((2, 2), (2, 2)), ((3, 3), (1, 1)), ((2, 2), (3, 3)), ((3, 2), (2, 1))]:
        g = _jit(jax.grad(lambda a: jnp.sum(ops.max_pool(a, window=win, stride=s))))(x)
        ho, wo = ops.output_hw(5, 7, win, s, "valid")
        assert float(g.sum()) == 2 * 3 * ho * wo
        expected = np.zeros((5, 7))
        for p in range(ho):
            for q in range(wo):
                expected[p * s[0], q * s[1]] += 1
        np.testing.assert_array_equal(np.asarray(g[0, :, :, 0]), expected)
        ref = _jit(jax.grad(lambda a: jnp.sum(nn.max_pool(ops.to_nhwc(a), win, s, "VALID"))))(x)
        np.testing.assert_array_equal(np.asarray(g), np.asarray(ref))


def test_pool_rejects_too_large_window():
    with pytest.raises(ValueError):
        ops.max_pool(jnp.ones((1, 2, 2, 1)), window=(3, 3), stride=(1, 1))


# --------------------------------------------------------------- jit + grad inside scan


def test_small_cnn_trains_identically_inside_scan():
    """A conv-relu-maxpool-avgpool-dense net: grads equal the reference, also in scan."""
    params = {
        "k1": _rand(0, (3, 3, 1, 4)) * 0.3,
        "b1": jnp.zeros((4,)),
        "k2": _rand(1, (2, 2, 4, 3)) * 0.3,
        "b2": jnp.full((3,), 0.1),
        "w": _rand(2, (3 * 1 * 1, 5)) * 0.3,
    }
    xs = _rand(3, (3, 4, 9, 8, 1))  # 3 steps of batch 4
    ys = jnp.asarray(np.random.default_rng(4).integers(0, 5, (3, 4)))

    def ref_net(p, x):
        h = jax.nn.relu(_ref_conv(x, p["k1"], p["b1"], (1, 1), "same"))
        h = nn.max_pool(h, (2, 2), (2, 2), "VALID")
        h = jax.nn.relu(_ref_conv(h, p["k2"], p["b2"], (2, 2), "valid"))
        h = nn.avg_pool(h, (2, 2), (2, 2), "VALID")
        return h.reshape(h.shape[0], -1) @ p["w"]

    def our_net(p, x):
        h = ops.to_internal(x)
        h = jax.nn.relu(ops.conv2d(h, p["k1"], p["b1"], stride=(1, 1), padding="same"))
        h = ops.max_pool(h)
        h = jax.nn.relu(ops.conv2d(h, p["k2"], p["b2"], stride=2, padding="valid"))
        h = ops.avg_pool(h)
        h = ops.to_nhwc(h)
        return h.reshape(h.shape[0], -1) @ p["w"]

    def train(net):
        def loss(p, x, y):
            logits = net(p, x)
            return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], 1))

        def step(p, xy):
            value, g = jax.value_and_grad(loss)(p, *xy)
            return jax.tree.map(lambda a, b: a - 0.1 * b, p, g), value

        return _jit(lambda p: lax.scan(step, p, (xs, ys)))(params)

    (p_ref, l_ref), (p_ours, l_ours) = train(ref_net), train(our_net)
    _close(l_ours, l_ref, "losses")
    for k in params:
        _close(p_ours[k], p_ref[k], k)
