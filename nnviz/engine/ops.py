"""Fast image ops for the small CNNs nnviz trains on a CPU.

The model builder uses these instead of ``flax.linen.Conv`` / ``max_pool`` /
``avg_pool``.  They compute exactly what the reference NHWC ops compute
(``lax.conv_general_dilated`` with ``("NHWC", "HWIO", "NHWC")`` plus bias, and
``flax.linen.max_pool`` / ``avg_pool`` with VALID padding), gradients included, but
they are laid out and differentiated in the way that was measured to be fastest on
XLA's CPU backend (``benchmarks/conv_ops.py`` repeats the measurements against the
reference ops):

* Image activations are kept as ``(C, H, W, N)``, batch innermost.  Every shifted
  slice, every pooling comparison and the matmul output are then contiguous runs over
  the batch which XLA vectorises; measured ~1.5x over the same ops in NHWC.
* Convolution is im2col: pad, take the ``kh*kw`` (strided) shifted views, concatenate
  them on the channel axis and do one matmul.  ``lax.conv``'s backward convolutions are
  slow on CPU, and much slower inside ``lax.scan``; this form is plain slices + one
  ``dot_general`` whose gradient is more of the same, and it speeds up under ``scan``.
* Max / average pooling have a ``jax.custom_vjp``.  The gradient of
  ``lax.reduce_window`` max pooling (select-and-scatter) costs 10-16x its forward on
  CPU; ours is one elementwise pass per window offset routing the cotangent to the
  arg-max, then an interleaving reshape back to the input grid.

All functions are pure JAX and work under ``jax.jit``, ``jax.grad`` and inside
``jax.lax.scan``.  ``vmap`` is not a goal (the batch is already an axis).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax import lax

__all__ = [
    "LAYOUT",
    "CHANNEL_AXIS",
    "to_internal",
    "to_nhwc",
    "conv2d",
    "max_pool",
    "avg_pool",
    "output_hw",
]

#: Internal layout of image tensors: channels, height, width, batch (batch innermost).
LAYOUT: str = "CHWN"
#: Channel axis of internal image tensors (what a Concatenate layer joins on).
CHANNEL_AXIS: int = 0
_H_AXIS, _W_AXIS, _N_AXIS = 1, 2, 3

IntOrPair = int | Sequence[int]


def _pair(v: IntOrPair, name: str) -> tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    t = tuple(int(a) for a in v)
    if len(t) != 2:
        raise ValueError(f"{name} must be an int or a pair, got {v!r}")
    return t  # type: ignore[return-value]


def _norm_padding(padding: str) -> str:
    p = str(padding).lower()
    if p not in ("same", "valid"):
        raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")
    return p


def _out_len(n: int, k: int, s: int, padding: str) -> int:
    # TF / Flax / lax semantics: SAME -> ceil(n / s); VALID -> ceil((n - k + 1) / s).
    if padding == "same":
        return -(-n // s)
    return max(0, -(-(n - k + 1) // s))


def _same_pads(n: int, k: int, s: int) -> tuple[int, int]:
    # Same split as lax.padtype_to_pads: the odd extra pixel goes after (high side).
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def output_hw(
    h: int, w: int, kernel: IntOrPair, stride: IntOrPair = 1, padding: str = "same"
) -> tuple[int, int]:
    """Spatial output size of a conv / pool, in pure Python, for shape inference.

    Same formula as ``conv2d`` / ``max_pool`` / ``avg_pool`` use (pools are always
    ``padding="valid"``).  Returns ``(h', w')``; a dimension can be 0 when a VALID
    window is larger than the input, which callers should treat as an invalid graph.
    """
    (kh, kw), (sh, sw) = _pair(kernel, "kernel"), _pair(stride, "stride")
    p = _norm_padding(padding)
    return _out_len(int(h), kh, sh, p), _out_len(int(w), kw, sw, p)


def to_internal(x_nhwc: jax.Array) -> jax.Array:
    """Convert an ``(N, H, W, C)`` image batch to the internal ``(C, H, W, N)`` layout."""
    return jnp.transpose(x_nhwc, (3, 1, 2, 0))


def to_nhwc(x: jax.Array) -> jax.Array:
    """Convert an internal ``(C, H, W, N)`` tensor back to ``(N, H, W, C)``.

    Used by probes (images shown to the user) and by Flatten, which must flatten in
    H, W, C order so that Dense weights mean the same thing as in a plain Flax model.
    """
    return jnp.transpose(x, (3, 1, 2, 0))


def _shifted(x: jax.Array, i: int, j: int, ho: int, wo: int, sh: int, sw: int) -> jax.Array:
    """View ``x[:, i::sh, j::sw, :]`` cut to ``ho x wo`` (one window offset, all windows)."""
    c, _, _, n = x.shape
    return lax.slice(
        x,
        (0, i, j, 0),
        (c, i + (ho - 1) * sh + 1, j + (wo - 1) * sw + 1, n),
        (1, sh, sw, 1),
    )


def conv2d(
    x: jax.Array,
    kernel: jax.Array,
    bias: jax.Array | None = None,
    *,
    stride: IntOrPair = (1, 1),
    padding: str = "same",
) -> jax.Array:
    """2-D convolution (cross-correlation, like ``flax.linen.Conv``) on internal tensors.

    ``x`` is ``(Cin, H, W, N)``; ``kernel`` is Flax's ``(kh, kw, Cin, Cout)``; ``bias``
    is ``(Cout,)`` or ``None``.  ``padding`` is ``"same"`` or ``"valid"`` with TF/Flax
    semantics for any stride and odd or even kernel.  Returns ``(Cout, H', W', N)``
    with ``(H', W') == output_hw(H, W, kernel[:2], stride, padding)``.
    Equal to ``lax.conv_general_dilated(..., ("NHWC", "HWIO", "NHWC")) + bias``.
    """
    kh, kw, cin, cout = kernel.shape
    if x.shape[CHANNEL_AXIS] != cin:
        raise ValueError(f"conv2d: input has {x.shape[CHANNEL_AXIS]} channels, kernel expects {cin}")
    sh, sw = _pair(stride, "stride")
    p = _norm_padding(padding)
    _, h, w, _ = x.shape
    ho, wo = _out_len(h, kh, sh, p), _out_len(w, kw, sw, p)
    if ho <= 0 or wo <= 0:
        raise ValueError(f"conv2d: kernel {kh}x{kw} does not fit a {h}x{w} input with VALID padding")
    if p == "same":
        (pt, pb), (pl, pr) = _same_pads(h, kh, sh), _same_pads(w, kw, sw)
        if pt or pb or pl or pr:
            x = jnp.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    # im2col: the kh*kw shifted views stacked on the channel axis in (i, j, c) order,
    # which is exactly the row-major order of kernel.reshape(kh*kw*cin, cout).  One
    # matmul then does the whole conv; measured faster than lax.conv and than
    # conv_general_dilated_patches (10x slower) on this CPU, forward and backward.
    cols = [_shifted(x, i, j, ho, wo, sh, sw) for i in range(kh) for j in range(kw)]
    patches = cols[0] if len(cols) == 1 else jnp.concatenate(cols, axis=CHANNEL_AXIS)
    k2 = kernel.reshape(kh * kw * cin, cout).astype(patches.dtype)
    # Contract K of (K, Cout) with K of (K, H', W', N): the result comes out directly as
    # (Cout, H', W', N), so no transpose is needed in either direction.
    out = lax.dot_general(k2, patches, (((0,), (0,)), ((), ())))
    if bias is not None:
        out = out + bias.astype(out.dtype)[:, None, None, None]
    return out


# ----------------------------------------------------------------------------- pooling


def _pool_geometry(x_shape, window, stride):
    (wh, ww), (sh, sw) = _pair(window, "window"), _pair(stride, "stride")
    _, h, w, _ = x_shape
    ho, wo = _out_len(h, wh, sh, "valid"), _out_len(w, ww, sw, "valid")
    if ho <= 0 or wo <= 0:
        raise ValueError(f"pool window {wh}x{ww} does not fit a {h}x{w} input")
    return (wh, ww), (sh, sw), (ho, wo)


def _scatter_windows(contribs, x_shape, window, stride, out_hw):
    """Sum per-offset cotangents ``contribs[i*ww + j]`` (each ``(C, H', W', N)``) back
    onto the input grid: element ``(p, q)`` of offset ``(i, j)`` lands on input
    ``(p*sh + i, q*sw + j)``.  This is the transpose of taking the shifted views."""
    (wh, ww), (sh, sw), (ho, wo) = window, stride, out_hw
    c, h, w, n = x_shape
    if sh >= wh and sw >= ww:
        # Windows don't overlap (the usual 2x2/2 pool): every input pixel gets at most
        # one contribution, so interleave them with one stack + reshape instead of
        # wh*ww interior-padded scatters and adds.  Gap offsets (stride > window) are 0.
        zero = jnp.zeros_like(contribs[0])
        grid = [[contribs[i * ww + j] if (i < wh and j < ww) else zero for j in range(sw)] for i in range(sh)]
        rows = [jnp.stack(r, axis=3) for r in grid]  # each (C, H', W', sw, N)
        t = jnp.stack(rows, axis=2)  # (C, H', sh, W', sw, N)
        t = t.reshape(c, ho * sh, wo * sw, n)
        t = t[:, : min(h, ho * sh), : min(w, wo * sw), :]
        return jnp.pad(t, ((0, 0), (0, h - t.shape[1]), (0, w - t.shape[2]), (0, 0)))
    # Overlapping windows (stride < window): a pixel can receive from several windows.
    # Generic, slower path: one interior-padded lax.pad per offset, summed.
    total = None
    zero = jnp.zeros((), contribs[0].dtype)
    for i in range(wh):
        for j in range(ww):
            hi_h = h - (i + (ho - 1) * sh + 1)
            hi_w = w - (j + (wo - 1) * sw + 1)
            t = lax.pad(
                contribs[i * ww + j],
                zero,
                ((0, 0, 0), (i, hi_h, sh - 1), (j, hi_w, sw - 1), (0, 0, 0)),
            )
            total = t if total is None else total + t
    return total


def _max_pool_fwd_value(x, window, stride):
    (wh, ww), (sh, sw), (ho, wo) = _pool_geometry(x.shape, window, stride)
    out = None
    for i in range(wh):
        for j in range(ww):
            v = _shifted(x, i, j, ho, wo, sh, sw)
            out = v if out is None else jnp.maximum(out, v)
    return out


def _max_pool_vjp_fwd(x, window, stride):
    out = _max_pool_fwd_value(x, window, stride)
    return out, (x, out)


def _max_pool_vjp_bwd(window, stride, res, g):
    x, out = res
    win, strd, ohw = _pool_geometry(x.shape, window, stride)
    (wh, ww), (sh, sw), (ho, wo) = win, strd, ohw
    # Route each window's cotangent to ONE arg-max: the first offset in row-major
    # window order whose value equals the max.  That is the tie rule of jax's own
    # reduce_window-max gradient (select_and_scatter with `ge`), so ties match too.
    taken = None
    contribs = []
    zero = jnp.zeros((), g.dtype)
    for i in range(wh):
        for j in range(ww):
            hit = _shifted(x, i, j, ho, wo, sh, sw) == out
            if taken is None:
                m, taken = hit, hit
            else:
                m = hit & ~taken
                taken = taken | hit
            contribs.append(jnp.where(m, g, zero))
    return (_scatter_windows(contribs, x.shape, win, strd, ohw),)


_max_pool_core = jax.custom_vjp(
    lambda x, window, stride: _max_pool_fwd_value(x, window, stride), nondiff_argnums=(1, 2)
)
_max_pool_core.defvjp(_max_pool_vjp_fwd, _max_pool_vjp_bwd)


def max_pool(x: jax.Array, *, window: IntOrPair = (2, 2), stride: IntOrPair = (2, 2)) -> jax.Array:
    """Max pooling with VALID padding on internal ``(C, H, W, N)`` tensors.

    Same values and gradient as ``flax.linen.max_pool(x, window, stride, "VALID")``:
    the gradient of each window goes to one arg-max (the first in row-major window
    order on ties, as jax does).  Trailing rows/columns that no window covers get zero
    gradient.  Overlapping windows (stride < window) take a slower backward path.
    """
    return _max_pool_core(x, _pair(window, "window"), _pair(stride, "stride"))


def _avg_pool_fwd_value(x, window, stride):
    (wh, ww), (sh, sw), (ho, wo) = _pool_geometry(x.shape, window, stride)
    acc = None
    for i in range(wh):
        for j in range(ww):
            v = _shifted(x, i, j, ho, wo, sh, sw)
            acc = v if acc is None else acc + v
    return acc / jnp.asarray(wh * ww, acc.dtype)


def _avg_pool_vjp_fwd(x, window, stride):
    # The backward pass needs only the input's H and W (the trailing rows/columns no
    # window covers); a zero-size (0, H, W, 0) residual carries them statically.
    _, h, w, _ = x.shape
    return _avg_pool_fwd_value(x, window, stride), jnp.zeros((0, h, w, 0), x.dtype)


def _avg_pool_vjp_bwd(window, stride, res, g):
    x_shape = (g.shape[0], res.shape[1], res.shape[2], g.shape[3])
    win, strd, ohw = _pool_geometry(x_shape, window, stride)
    gs = g / jnp.asarray(win[0] * win[1], g.dtype)
    return (_scatter_windows([gs] * (win[0] * win[1]), x_shape, win, strd, ohw),)


_avg_pool_core = jax.custom_vjp(
    lambda x, window, stride: _avg_pool_fwd_value(x, window, stride), nondiff_argnums=(1, 2)
)
_avg_pool_core.defvjp(_avg_pool_vjp_fwd, _avg_pool_vjp_bwd)


def avg_pool(x: jax.Array, *, window: IntOrPair = (2, 2), stride: IntOrPair = (2, 2)) -> jax.Array:
    """Average pooling with VALID padding on internal ``(C, H, W, N)`` tensors.

    Same values and gradient as ``flax.linen.avg_pool(x, window, stride, "VALID")``.
    Its backward spreads ``g / (wh*ww)`` over each window with the same interleaving
    scatter as ``max_pool`` (overlapping windows take the slower path).
    """
    return _avg_pool_core(x, _pair(window, "window"), _pair(stride, "stride"))
