"""The loss surface: the training loss over a plane (or a line) through weight space.

Follows Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets" (filter-normalised
random directions; PCA directions of the optimisation path) and Goodfellow et al. 2015,
"Qualitatively characterizing neural network optimization problems" (the straight line
from the initial to the trained weights).

All parameters are one flat vector θ (``jax.flatten_util.ravel_pytree`` of the session's
pure parameter dict ``{"layers": {node_id: {"kernel", "bias"}}}``). The loss is the one
training minimises (the Output node's head, plus L1/L2), evaluated with dropout off on a
fixed subset of the training samples. A plane f(a, b) = L(c + a·d1 + b·d2) is evaluated in
chunks of grid points, each chunk one jitted ``vmap`` call, with a progress callback and a
cancel callback, on whatever thread calls it (never the GUI thread: it blocks).

Everything returned is plain numpy (``Surface``), so a panel can draw it without JAX.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.datasets import Dataset, DatasetSpec
from ..core.graph import Network, analyze
from ..core.layers import Context
from ..core.optimizers import OPTIMIZERS
from ..core.project import Project, TrainingConfig
from .messages import Snapshot

ProgressFn = Callable[[int, int], None]  # (grid points done, total)
CancelFn = Callable[[], bool]

METHODS = ("pca", "random", "line", "exact")


class SurfaceError(Exception):
    """The surface cannot be computed for this network or input; the message says why."""


class SurfaceCancelled(SurfaceError):
    """``cancel()`` answered true while a grid was being evaluated."""


# ---------------------------------------------------------------- results (plain numpy)


@dataclass(frozen=True, eq=False)
class PathOnPlane:
    """One optimisation path drawn on a surface: its plane coordinates and its true losses.

    ``loss`` is L(θ_t) at the real point, not the surface's value at its projection;
    ``off_plane`` is ‖θ_t − its projection onto the plane‖, in weight-space units.
    """

    name: str
    steps: np.ndarray  # (T,) training step of each point
    xy: np.ndarray  # (T, 2) plane coordinates; (T, 1) on a line
    loss: np.ndarray  # (T,)
    off_plane: np.ndarray  # (T,)
    diverged: bool = False

    @property
    def final_loss(self) -> float:
        return float(self.loss[-1]) if len(self.loss) else math.nan


@dataclass(frozen=True, eq=False)
class Surface:
    """A loss surface and the paths on it, as numpy arrays (what the panel and the CLI draw).

    ``loss`` is (len(b), len(a)), rows along b, for a plane; (len(a),) for a line, where
    ``b`` is empty. ``explained_variance`` is the fraction of the path's variance along
    each direction (PCA only; NaN otherwise).
    """

    method: str
    a: np.ndarray
    b: np.ndarray
    loss: np.ndarray
    paths: tuple[PathOnPlane, ...] = ()
    explained_variance: tuple[float, float] = (math.nan, math.nan)
    center_loss: float = math.nan
    labels: tuple[str, str] = ("direction 1", "direction 2")
    title: str = ""
    seconds: float = 0.0
    n_params: int = 0
    samples: int = 0
    # The plane itself (θ-sized, kept out of JSON): lets a live θ_t be placed on it in numpy.
    center: np.ndarray | None = field(default=None, repr=False)
    d1: np.ndarray | None = field(default=None, repr=False)
    d2: np.ndarray | None = field(default=None, repr=False)

    @property
    def is_line(self) -> bool:
        return self.loss.ndim == 1

    def locate(self, theta: np.ndarray) -> tuple[np.ndarray, float]:
        """Where θ lies on this plane (or line) and how far off it: (coords, distance). Numpy only."""
        if self.center is None or self.d1 is None:
            raise SurfaceError("this surface does not keep its plane")
        coords, off = project_onto_plane(
            np.asarray(theta)[None], self.center, self.d1, None if self.is_line else self.d2
        )
        return coords[0], float(off[0])

    def to_json(self) -> dict:
        """A JSON-ready dict (non-finite numbers become null)."""

        def clean(a):
            arr = np.asarray(a, dtype=np.float64)
            return (
                [None if not math.isfinite(v) else v for v in arr.ravel().tolist()]
                if arr.ndim <= 1
                else [clean(row) for row in arr]
            )

        return {
            "method": self.method,
            "title": self.title,
            "labels": list(self.labels),
            "a": clean(self.a),
            "b": clean(self.b),
            "loss": clean(self.loss),
            "center_loss": clean([self.center_loss])[0],
            "explained_variance": clean(self.explained_variance),
            "n_params": self.n_params,
            "samples": self.samples,
            "seconds": self.seconds,
            "paths": [
                {
                    "name": p.name,
                    "steps": [int(s) for s in p.steps],
                    "x": clean(p.xy[:, 0]),
                    "y": clean(p.xy[:, 1]) if p.xy.shape[1] > 1 else [],
                    "loss": clean(p.loss),
                    "off_plane": clean(p.off_plane),
                    "diverged": p.diverged,
                }
                for p in self.paths
            ],
        }


@dataclass(frozen=True, eq=False)
class Trajectory:
    """Flat parameter vectors θ_t recorded while training, oldest first."""

    steps: np.ndarray  # (T,)
    thetas: np.ndarray  # (T, P) float32

    def __len__(self) -> int:
        return len(self.steps)


class TrajectoryRecorder:
    """Collects θ_t from a session's Snapshots: pass it as ``TrainingSession(on_message=...)``.

    Snapshots already carry every parameter as numpy, so recording costs the session
    nothing. To bound memory, when ``max_points`` are held every other point is dropped
    (the first is always kept) and only every second snapshot after that is kept.
    """

    def __init__(self, max_points: int = 300, forward: Callable[[Any], None] | None = None) -> None:
        self.max_points = max(4, int(max_points))
        self.forward = forward
        self._steps: list[int] = []
        self._thetas: list[np.ndarray] = []
        self._stride = 1
        self._seen = 0
        self._pending: tuple[int, dict] | None = None

    def __call__(self, msg: Any) -> None:
        if isinstance(msg, Snapshot):
            self.add(msg.step, msg.params)
        if self.forward is not None:
            self.forward(msg)

    def add(self, step: int, layers: dict[str, dict[str, np.ndarray]]) -> None:
        """Record the weights ``{node_id: {"kernel", "bias"}}`` after ``step`` steps."""
        if self._steps and step == self._steps[-1]:  # an epoch-end snapshot repeats the last one
            self._thetas[-1] = flatten_layers(layers)
            return
        self._seen += 1
        if self._steps and (self._seen - 1) % self._stride:
            self._pending = (step, layers)  # not kept, unless it turns out to be the last
            return
        self._pending = None
        self._steps.append(int(step))
        self._thetas.append(flatten_layers(layers))
        if len(self._steps) >= self.max_points:
            self._steps = self._steps[:1] + self._steps[2::2]
            self._thetas = self._thetas[:1] + self._thetas[2::2]
            self._stride *= 2

    def trajectory(self) -> Trajectory:
        steps, thetas = list(self._steps), list(self._thetas)
        pending = self._pending
        if pending is not None and pending[0] > (steps[-1] if steps else -1):
            steps.append(int(pending[0]))
            thetas.append(flatten_layers(pending[1]))
        if not steps:
            return Trajectory(np.zeros(0, np.int64), np.zeros((0, 0), np.float32))
        return Trajectory(np.asarray(steps, np.int64), np.stack(thetas).astype(np.float32))


def flatten_layers(layers: dict[str, dict[str, np.ndarray]]) -> np.ndarray:
    """The flat θ of ``{node_id: {"kernel", "bias"}}``, in ``ravel_pytree``'s order (sorted keys)."""
    parts = [
        np.asarray(layers[nid][k], np.float32).ravel() for nid in sorted(layers) for k in sorted(layers[nid])
    ]
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


# ---------------------------------------------------------------- the loss as a function of θ


class _PlaneKernel:
    """The first Dense kernel K0 + a·D1 + b·D2, multiplied lazily from the left.

    That layer reads the fixed evaluation inputs x, so x @ K = x@K0 + a·(x@D1) + b·(x@D2):
    under ``vmap`` over (a, b) the three products do not depend on the grid point, are
    computed once per chunk, and every grid point pays only for a weighted sum. For the
    Fashion-MNIST MLP that removes the 784-wide product from each point (about 3x faster).
    It stands in for the array inside the model's own forward pass (``v = x @ kernel``),
    so the forward pass and the loss are not duplicated here.
    """

    def __init__(self, k0, d1, d2, a, b) -> None:
        self.k0, self.d1, self.d2, self.a, self.b = k0, d1, d2, a, b
        self.shape, self.dtype = k0.shape, k0.dtype

    def __getitem__(self, index):  # the model reads ``layer.kernel[...]``
        return self

    def __rmatmul__(self, x):
        return x @ self.k0 + self.a * (x @ self.d1) + self.b * (x @ self.d2)

    def dense(self):
        return self.k0 + self.a * self.d1 + self.b * self.d2


class LossLandscape:
    """The training loss of one network on a fixed evaluation subset, as a function of θ.

    Built from the same pieces the training session uses: ``build_model`` + ``nnx.split``
    for the forward pass and ``head_losses`` for the Output node's loss, plus the L1/L2
    terms the training step adds. Dropout is off (the model is called with train=False).
    Not thread-safe: use it from one thread (the one that owns the JAX calls).
    """

    def __init__(
        self,
        graphdef,
        head,
        params: dict,
        x: np.ndarray,
        y: np.ndarray,
        *,
        l1: float = 0.0,
        l2: float = 0.0,
        fast_layer: str | None = None,
        point_floats: int = 0,
    ) -> None:
        import jax
        import jax.numpy as jnp
        from jax.flatten_util import ravel_pytree

        self.graphdef, self.head = graphdef, head
        self.l1, self.l2 = float(l1), float(l2)
        flat, self._unravel = ravel_pytree(jax.tree.map(jnp.asarray, params))
        self.theta_init = np.asarray(flat, np.float32)
        self.n_params = int(flat.size)
        self.samples = int(len(x))
        floats = max(int(point_floats), 1)
        # Samples go through the network in batches of about 2.5M floats of activations:
        # a CNN on 1,000 samples at once runs several times slower than in batches of
        # ~100, because its im2col buffers no longer fit the caches. Padding is masked
        # out of the mean.
        self.sample_batch = int(np.clip((5 << 19) // floats, 1, max(self.samples, 1)))
        n_batches = max(1, math.ceil(self.samples / self.sample_batch))
        pad = n_batches * self.sample_batch - self.samples
        x = np.asarray(x, np.float32)
        y = np.asarray(y).astype(np.int32)
        mask = np.concatenate([np.ones(self.samples, np.float32), np.zeros(pad, np.float32)])
        if pad:
            x = np.concatenate([x, np.zeros((pad, *x.shape[1:]), np.float32)])
            y = np.concatenate([y, np.zeros(pad, np.int32)])
        shape = (n_batches, self.sample_batch)
        self.x = jnp.asarray(x.reshape(*shape, *x.shape[1:]))
        self.y = jnp.asarray(y.reshape(shape))
        self.mask = jnp.asarray(mask.reshape(shape))
        self.fast_layer = fast_layer
        # Grid points evaluated side by side (vmap): as many as keep their activations
        # within ~8M floats, when all samples fit one batch (an MLP: its points share the
        # first layer's products and little else). When the samples had to be split (a
        # CNN), one point at a time: side by side they only crowd the caches (measured
        # 137 vs 81 ms a point for mnist-cnn). Each jitted call takes ``chunk`` points,
        # ``width`` at a time (lax.map), so progress and cancel answer within a fraction
        # of a second.
        per_point = self.sample_batch * floats
        self.width = (
            1 if n_batches > 1 else int(np.clip(2 ** int(math.log2(max(1, (8 << 20) // per_point))), 1, 256))
        )
        self.chunk = max(self.width, 8)
        self._plane_fn = None
        self._points_fn = None
        layers = params.get("layers", {})
        self.layer_slices = self._slices(layers)

    # ------------------------------------------------------------ building

    @classmethod
    def from_project(
        cls, project: Project, dataset: Dataset, *, samples: int = 1000, seed: int = 0
    ) -> LossLandscape:
        """The loss of ``project``'s network on ``samples`` training samples of ``dataset``.

        The subset is drawn once with ``seed`` and kept; the initial θ (``theta_init``)
        is the one the session starts from (same init and seed).
        """
        from flax import nnx

        from .model import build_model

        ctx = Context(tuple(dataset.input_shape), dataset.n_classes, dataset.name)
        network = project.network
        analysis = analyze(network, ctx)
        if not analysis.ok:
            raise SurfaceError("the network is not valid:\n" + "\n".join(analysis.messages(network)))
        cfg = project.training
        model = build_model(network, analysis, ctx, init=cfg.init, seed=cfg.seed)
        graphdef, state = nnx.split(model)
        params = nnx.to_pure_dict(state)
        n = len(dataset.x_train)
        if n == 0:
            raise SurfaceError("the dataset has no training samples")
        samples = int(samples)
        if samples < 1:
            raise SurfaceError("the number of samples must be at least 1")
        if samples >= n:
            idx = np.arange(n)
        else:
            idx = np.sort(np.random.default_rng(seed).choice(n, samples, replace=False))
        # Values per sample that differ between grid points (the input and its flattening
        # are shared by all of them).
        floats = sum(
            int(np.prod(s))
            for nid, s in analysis.shapes.items()
            if s and network.nodes[nid].type not in ("Input", "Flatten", "Output")
        )
        return cls(
            graphdef,
            model.head,
            params,
            dataset.x_train[idx],
            dataset.y_train[idx],
            l1=cfg.l1,
            l2=cfg.l2,
            fast_layer=_first_input_dense(network, analysis),
            point_floats=floats,
        )

    @staticmethod
    def _slices(layers: dict) -> dict[tuple[str, str], tuple[int, int, tuple[int, ...]]]:
        """Where each (node, kernel|bias) lives in θ: (start, stop, shape), ravel_pytree's order."""
        out, pos = {}, 0
        for nid in sorted(layers):
            for k in sorted(layers[nid]):
                shape = tuple(np.shape(layers[nid][k]))
                size = int(np.prod(shape)) if shape else 1
                out[(nid, k)] = (pos, pos + size, shape)
                pos += size
        return out

    # ------------------------------------------------------------ θ <-> parameters

    def flatten(self, layers: dict[str, dict[str, np.ndarray]]) -> np.ndarray:
        """θ of ``{node_id: {"kernel", "bias"}}`` (a Snapshot's params, a weights file)."""
        theta = flatten_layers(layers)
        if theta.size != self.n_params:
            raise SurfaceError(f"these weights have {theta.size} numbers; the network has {self.n_params}")
        return theta

    def unflatten(self, theta: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
        """``{node_id: {"kernel", "bias"}}`` as numpy from θ."""
        theta = np.asarray(theta, np.float32)
        out: dict[str, dict[str, np.ndarray]] = {}
        for (nid, k), (lo, hi, shape) in self.layer_slices.items():
            out.setdefault(nid, {})[k] = theta[lo:hi].reshape(shape)
        return out

    # ------------------------------------------------------------ the loss

    def _loss_of(self, p, xs, ys, ms):
        import jax
        import jax.numpy as jnp
        from flax import nnx

        from .model import head_losses

        model = nnx.merge(self.graphdef, p)

        def batch_sum(batch):
            x, y, m = batch
            return jnp.sum(head_losses(self.head, model(x), y) * m)

        if len(xs) == 1:
            total = batch_sum((xs[0], ys[0], ms[0]))
        else:
            total = jnp.sum(jax.lax.map(batch_sum, (xs, ys, ms)))
        loss = total / self.samples
        if self.l1 or self.l2:  # as the training step adds them (session.compiled_steps)
            kernels = [
                lp["kernel"].dense() if isinstance(lp["kernel"], _PlaneKernel) else lp["kernel"]
                for lp in p["layers"].values()
            ]
            if self.l2:
                loss = loss + self.l2 * sum(jnp.sum(k * k) for k in kernels)
            if self.l1:
                loss = loss + self.l1 * sum(jnp.sum(jnp.abs(k)) for k in kernels)
        return loss

    def _compile(self):
        import jax

        def plane(center, d1, d2, ab, x, y, m):
            c, u, v = self._unravel(center), self._unravel(d1), self._unravel(d2)

            def one(point):
                a, b = point[0], point[1]
                p = jax.tree.map(lambda c_, u_, v_: c_ + a * u_ + b * v_, c, u, v)
                if self.fast_layer is not None:
                    lp = dict(p["layers"][self.fast_layer])
                    lp["kernel"] = _PlaneKernel(
                        c["layers"][self.fast_layer]["kernel"],
                        u["layers"][self.fast_layer]["kernel"],
                        v["layers"][self.fast_layer]["kernel"],
                        a,
                        b,
                    )
                    p = {**p, "layers": {**p["layers"], self.fast_layer: lp}}
                return self._loss_of(p, x, y, m)

            if self.width >= len(ab):
                return jax.vmap(one)(ab)
            return jax.lax.map(one, ab, batch_size=self.width if self.width > 1 else None)

        def points(thetas, x, y, m):
            one = lambda t: self._loss_of(self._unravel(t), x, y, m)  # noqa: E731
            if self.width >= len(thetas):
                return jax.vmap(one)(thetas)
            return jax.lax.map(one, thetas, batch_size=self.width if self.width > 1 else None)

        self._plane_fn = jax.jit(plane)
        self._points_fn = jax.jit(points)

    def loss(self, theta: np.ndarray) -> float:
        """L(θ) for one parameter vector."""
        return float(self.losses(np.asarray(theta)[None])[0])

    def losses(self, thetas: np.ndarray, cancel: CancelFn | None = None) -> np.ndarray:
        """L(θ_t) for each row of ``thetas`` (T, P)."""
        import jax.numpy as jnp

        if self._points_fn is None:
            self._compile()
        thetas = np.asarray(thetas, np.float32)
        n = len(thetas)
        if n == 0:
            return np.zeros(0, np.float64)
        chunk = self.chunk
        out = np.empty(n, np.float64)
        for lo in range(0, n, chunk):
            if cancel is not None and cancel():
                raise SurfaceCancelled("the loss surface was cancelled")
            part = thetas[lo : lo + chunk]
            if len(part) < chunk and n > chunk:  # one compiled shape: pad the last chunk
                part = np.concatenate([part, np.repeat(part[-1:], chunk - len(part), axis=0)])
            vals = np.asarray(self._points_fn(jnp.asarray(part), self.x, self.y, self.mask))
            out[lo : lo + chunk] = vals[: min(chunk, n - lo)]
        return out

    def plane(
        self,
        center: np.ndarray,
        d1: np.ndarray,
        d2: np.ndarray,
        a: np.ndarray,
        b: np.ndarray,
        progress: ProgressFn | None = None,
        cancel: CancelFn | None = None,
    ) -> np.ndarray:
        """f(a_i, b_j) = L(center + a_i·d1 + b_j·d2) as a (len(b), len(a)) array, rows along b.

        Grid points go ``self.chunk`` at a time through one jitted, vmapped function (one
        compilation per landscape); the next chunk is dispatched before the previous one
        is read, so the CPU never waits for Python. ``progress(done, total)`` is called
        after each chunk and ``cancel()`` before each; a true answer raises SurfaceCancelled.
        """
        import jax.numpy as jnp

        if self._plane_fn is None:
            self._compile()
        a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
        mb, ma = np.meshgrid(b, a, indexing="ij")
        ab = np.stack([ma.ravel(), mb.ravel()], axis=1)
        total = len(ab)
        chunk = self.chunk
        pad = (-total) % chunk
        if pad:
            ab = np.concatenate([ab, np.repeat(ab[-1:], pad, axis=0)])
        c, u, v = (jnp.asarray(np.asarray(t, np.float32)) for t in (center, d1, d2))
        out = np.empty(len(ab), np.float64)
        pending = None
        for lo in range(0, len(ab) + chunk, chunk):
            if lo < len(ab):
                if cancel is not None and cancel():
                    raise SurfaceCancelled("the loss surface was cancelled")
                launched = (
                    lo,
                    self._plane_fn(c, u, v, jnp.asarray(ab[lo : lo + chunk]), self.x, self.y, self.mask),
                )
            else:
                launched = None
            if pending is not None:
                plo, vals = pending
                out[plo : plo + chunk] = np.asarray(vals)
                if progress is not None:
                    progress(min(plo + chunk, total), total)
            pending = launched
        return out[:total].reshape(len(b), len(a))


def _first_input_dense(network: Network, analysis) -> str | None:
    """The Dense node reading the raw input (directly or through Flatten), if there is one."""
    for nid in analysis.order:
        node = network.nodes[nid]
        if node.type != "Dense":
            continue
        src = network.inputs_of(nid)
        while len(src) == 1 and network.nodes[src[0]].type == "Flatten":
            src = network.inputs_of(src[0])
        if len(src) == 1 and network.nodes[src[0]].type == "Input":
            return nid
    return None


# ---------------------------------------------------------------- directions and projections


def filter_normalized(direction: np.ndarray, theta: np.ndarray, landscape: LossLandscape) -> np.ndarray:
    """Li et al.'s filter normalisation of a direction, for Flax layouts.

    Every kernel slice along the last axis (one output unit of a Dense (in, out) kernel,
    one filter of a Conv (kh, kw, in, out) kernel) is scaled to the norm of the same
    slice of θ; biases are set to zero, so the plane does not move them.
    """
    out = np.zeros_like(direction, dtype=np.float32)
    for (_nid, k), (lo, hi, shape) in landscape.layer_slices.items():
        if k != "kernel" or not shape:
            continue
        d = np.asarray(direction[lo:hi], np.float32).reshape(shape)
        w = np.asarray(theta[lo:hi], np.float32).reshape(shape)
        axes = tuple(range(len(shape) - 1))
        dn = np.sqrt(np.sum(d * d, axis=axes, keepdims=True))
        wn = np.sqrt(np.sum(w * w, axis=axes, keepdims=True))
        out[lo:hi] = (d * (wn / np.maximum(dn, 1e-12))).ravel()
    return out


def random_directions(
    theta: np.ndarray, landscape: LossLandscape, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian directions, filter-normalised to θ (same seed, same directions)."""
    rng = np.random.default_rng(seed)
    d1 = rng.standard_normal(theta.size).astype(np.float32)
    d2 = rng.standard_normal(theta.size).astype(np.float32)
    return filter_normalized(d1, theta, landscape), filter_normalized(d2, theta, landscape)


def pca_directions(
    thetas: np.ndarray, center: np.ndarray
) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """The top two principal directions of ``thetas − center`` and the fraction of variance each explains.

    Through the T x T Gram matrix (T points, P parameters, T << P): one matrix product
    and a small eigen-decomposition instead of an SVD of the T x P matrix. Signs are
    fixed so that the first point has x <= 0 and y >= 0 (the path runs left to right).
    """
    m = np.asarray(thetas, np.float32) - np.asarray(center, np.float32)[None]
    gram = (m @ m.T).astype(np.float64)
    total = float(np.trace(gram))
    if len(m) < 2 or total <= 0:
        raise SurfaceError("the path needs at least two different points for PCA directions")
    vals, vecs = np.linalg.eigh(gram)
    order = np.argsort(vals)[::-1]
    dirs, explained = [], []
    for i in order[:2]:
        s2 = max(float(vals[i]), 0.0)
        if s2 <= total * 1e-12:  # a path along one straight line: any orthogonal second direction
            d = _orthogonal_unit(dirs[0] if dirs else None, m.shape[1])
        else:
            d = (m.T @ vecs[:, i].astype(np.float32)) / np.float32(math.sqrt(s2))
            d = d / max(float(np.linalg.norm(d)), 1e-30)
        dirs.append(d.astype(np.float32))
        explained.append(s2 / total)
    while len(dirs) < 2:
        dirs.append(_orthogonal_unit(dirs[0], m.shape[1]))
        explained.append(0.0)
    d1, d2 = dirs
    if float(m[0] @ d1) > 0:
        d1 = -d1
    if float(m[0] @ d2) < 0:
        d2 = -d2
    return d1, d2, (explained[0], explained[1])


def _orthogonal_unit(d: np.ndarray | None, n: int) -> np.ndarray:
    e = np.zeros(n, np.float32)
    if n == 0:
        return e
    if d is None:
        e[0] = 1
        return e
    e[int(np.argmin(np.abs(d)))] = 1
    e -= (e @ d) * d
    return e / max(float(np.linalg.norm(e)), 1e-30)


def project_onto_plane(
    points: np.ndarray, center: np.ndarray, d1: np.ndarray, d2: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares coordinates of ``points − center`` in span(d1, d2) and the distance off it.

    Works for non-orthogonal directions (two random ones) too; with ``d2`` None it is a
    line. Returns (coords (T, 2) or (T, 1), residual norms (T,)).
    """
    m = np.asarray(points, np.float64) - np.asarray(center, np.float64)[None]
    basis = np.stack([d1] if d2 is None else [d1, d2], axis=1).astype(np.float64)  # (P, k)
    gram = basis.T @ basis
    coords = np.linalg.lstsq(gram, basis.T @ m.T, rcond=None)[0].T  # (T, k)
    resid = m - coords @ basis.T
    return coords, np.linalg.norm(resid, axis=1)


def grid_around(
    xy: np.ndarray, resolution: int, margin: float = 0.3, min_aspect: float = 0.4
) -> tuple[np.ndarray, np.ndarray]:
    """Grid axes covering the points ``xy`` (T, 2) with a margin on every side.

    The shorter side spans at least ``min_aspect`` of the longer one, so a path that
    runs almost straight still shows the valley walls around it.
    """
    lo, hi = xy.min(axis=0).astype(np.float64), xy.max(axis=0).astype(np.float64)
    span = np.maximum(hi - lo, 1e-6)
    longest = float(span.max())
    span = np.maximum(span, min_aspect * longest)
    mid = (lo + hi) / 2
    lo, hi = mid - span * (0.5 + margin), mid + span * (0.5 + margin)
    return (
        np.linspace(lo[0], hi[0], resolution, dtype=np.float32),
        np.linspace(lo[1], hi[1], resolution, dtype=np.float32),
    )


def _check_resolution(resolution: int) -> int:
    resolution = int(resolution)
    if not 2 <= resolution <= 501:
        raise SurfaceError(f"the grid must have from 2 to 501 points a side (got {resolution})")
    return resolution


def _path(name, steps, coords, losses, off, diverged=False) -> PathOnPlane:
    return PathOnPlane(
        name,
        np.asarray(steps, np.int64),
        np.asarray(coords, np.float64),
        np.asarray(losses, np.float64),
        np.asarray(off, np.float64),
        diverged,
    )


# ---------------------------------------------------------------- the surfaces


def trajectory_surface(
    landscape: LossLandscape,
    trajectory: Trajectory,
    resolution: int = 31,
    *,
    margin: float = 0.3,
    name: str = "path",
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> Surface:
    """The descent view: the plane of the path's top two principal directions through θ_T.

    The path is x_t = <θ_t − θ_T, d1>, y_t = <θ_t − θ_T, d2>; the grid covers it with a
    margin; f(a, b) = L(θ_T + a·d1 + b·d2).
    """
    t0 = time.perf_counter()
    resolution = _check_resolution(resolution)
    if len(trajectory) < 2:
        raise SurfaceError("the trajectory needs at least two recorded points")
    thetas = trajectory.thetas
    center = thetas[-1]
    d1, d2, explained = pca_directions(thetas, center)
    coords, off = project_onto_plane(thetas, center, d1, d2)
    a, b = grid_around(coords, resolution, margin)
    grid = landscape.plane(center, d1, d2, a, b, progress, cancel)
    losses = landscape.losses(thetas, cancel)
    return Surface(
        "pca",
        a,
        b,
        grid,
        (_path(name, trajectory.steps, coords, losses, off),),
        explained,
        float(losses[-1]),
        ("PCA direction 1", "PCA direction 2"),
        "Loss around the trained weights, in the plane of the descent",
        time.perf_counter() - t0,
        landscape.n_params,
        landscape.samples,
        center,
        d1,
        d2,
    )


def random_surface(
    landscape: LossLandscape,
    theta: np.ndarray,
    resolution: int = 31,
    *,
    span: float = 1.0,
    seed: int = 0,
    trajectory: Trajectory | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> Surface:
    """f(a, b) = L(θ + a·δ + b·η), a, b in [−span, span], δ and η filter-normalised random directions.

    The same seed gives the same directions, so the sharpness of two minima can be compared.
    A trajectory, when given, is projected onto the plane (mostly far off it: the
    distance says so).
    """
    t0 = time.perf_counter()
    resolution = _check_resolution(resolution)
    theta = np.asarray(theta, np.float32)
    d1, d2 = random_directions(theta, landscape, seed)
    a = np.linspace(-span, span, resolution, dtype=np.float32)
    grid = landscape.plane(theta, d1, d2, a, a, progress, cancel)
    center_loss = landscape.loss(theta)
    paths = ()
    if trajectory is not None and len(trajectory):
        coords, off = project_onto_plane(trajectory.thetas, theta, d1, d2)
        paths = (_path("path", trajectory.steps, coords, landscape.losses(trajectory.thetas, cancel), off),)
    return Surface(
        "random",
        a,
        a.copy(),
        grid,
        paths,
        (math.nan, math.nan),
        center_loss,
        ("random direction δ", "random direction η"),
        "Loss around the weights along two random, filter-normalised directions",
        time.perf_counter() - t0,
        landscape.n_params,
        landscape.samples,
        theta,
        d1,
        d2,
    )


def line_surface(
    landscape: LossLandscape,
    theta0: np.ndarray,
    theta1: np.ndarray,
    resolution: int = 51,
    *,
    lo: float = -0.25,
    hi: float = 1.25,
    trajectory: Trajectory | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> Surface:
    """Goodfellow's line: L((1 − a)·θ_0 + a·θ_1) for a in [lo, hi] (0: start, 1: now).

    A trajectory is placed on the line by its projection a_t, with its true loss and its
    distance off the line: the real path runs below the straight line when training
    found a better way than going straight.
    """
    t0 = time.perf_counter()
    resolution = _check_resolution(resolution)
    theta0, theta1 = np.asarray(theta0, np.float32), np.asarray(theta1, np.float32)
    d = theta1 - theta0
    if not np.any(d):
        raise SurfaceError("the two ends of the line are the same weights (train first)")
    a = np.linspace(lo, hi, resolution, dtype=np.float32)
    curve = landscape.plane(theta0, d, np.zeros_like(d), a, np.zeros(1, np.float32), progress, cancel)[0]
    paths = ()
    if trajectory is not None and len(trajectory):
        coords, off = project_onto_plane(trajectory.thetas, theta0, d)
        paths = (_path("path", trajectory.steps, coords, landscape.losses(trajectory.thetas, cancel), off),)
    return Surface(
        "line",
        a,
        np.zeros(0, np.float32),
        curve,
        paths,
        (math.nan, math.nan),
        landscape.loss(theta1),
        ("a: 0 = initial weights, 1 = trained weights", "loss"),
        "Loss on the straight line from the initial to the trained weights",
        time.perf_counter() - t0,
        landscape.n_params,
        landscape.samples,
        theta0,
        d,
        None,
    )


def exact_surface(
    landscape: LossLandscape,
    trajectory: Trajectory | None = None,
    resolution: int = 41,
    *,
    extent: float | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> Surface:
    """The whole loss surface of a model with exactly two weights: f(w1, w2), no projection.

    The grid covers the path and the origin with a margin (or [−extent, extent]²).
    """
    t0 = time.perf_counter()
    resolution = _check_resolution(resolution)
    if landscape.n_params != 2:
        raise SurfaceError(
            f"the exact surface needs a model with exactly 2 weights; this one has "
            f"{landscape.n_params} (try the two-weight neuron: no project and --method exact)"
        )
    e1, e2 = np.array([1, 0], np.float32), np.array([0, 1], np.float32)
    if extent is not None:
        a = b = np.linspace(-extent, extent, resolution, dtype=np.float32)
    else:
        pts = np.zeros((1, 2))
        if trajectory is not None and len(trajectory):
            pts = np.concatenate([pts, trajectory.thetas.astype(np.float64)])
        a, b = grid_around(pts, resolution, margin=0.3, min_aspect=0.6)
    grid = landscape.plane(np.zeros(2, np.float32), e1, e2, a, b, progress, cancel)
    paths = ()
    if trajectory is not None and len(trajectory):
        paths = (
            _path(
                "path",
                trajectory.steps,
                trajectory.thetas.astype(np.float64),
                landscape.losses(trajectory.thetas, cancel),
                np.zeros(len(trajectory)),
            ),
        )
    center = trajectory.thetas[-1] if trajectory is not None and len(trajectory) else np.zeros(2, np.float32)
    return Surface(
        "exact",
        a,
        b,
        grid,
        paths,
        (math.nan, math.nan),
        landscape.loss(center),
        ("weight w1", "weight w2"),
        "The exact loss surface of a neuron with two weights",
        time.perf_counter() - t0,
        landscape.n_params,
        landscape.samples,
        np.zeros(2, np.float32),
        e1,
        e2,
    )


def two_weight_project(
    dataset: str = "gauss", *, epochs: int = 30, learning_rate: float = 0.1, seed: int = 0
) -> Project:
    """One sigmoid neuron, two inputs, no bias: a model whose loss surface is exactly 2D.

    Built from the core's own layers (a bias-less Dense of one unit), so it trains in
    the session like any project; the two weights are θ itself.
    """
    net = Network.chain(
        "Input",
        ("Dense", {"units": 1, "activation": "sigmoid", "use_bias": False}),
        ("Output", {"loss": "cross_entropy"}),
    )
    # Noisy, overlapping classes: the loss has a real minimum (on separable data it keeps
    # falling as the weights grow, and the picture has no bottom).
    return Project(
        net,
        DatasetSpec(dataset, n_samples=400, noise=0.5, seed=seed),
        TrainingConfig(
            optimizer="sgd",
            learning_rate=learning_rate,
            batch_size=16,
            epochs=epochs,
            init="zeros",
            seed=seed,
        ),
        name="Two weights: one neuron without bias",
        description="A sigmoid neuron with two inputs and no bias; its loss surface needs no projection.",
    )


# ---------------------------------------------------------------- the optimizer race


@dataclass(frozen=True, eq=False)
class RaceResult:
    """The optimizer race: every path on one shared surface, plus the rates used."""

    surface: Surface
    learning_rates: dict[str, float] = field(default_factory=dict)
    trajectories: dict[str, Trajectory] = field(default_factory=dict)


def race(
    project: Project,
    dataset: Dataset,
    *,
    optimizers: Sequence[str] = tuple(OPTIMIZERS),
    steps: int = 200,
    points: int = 50,
    learning_rates: dict[str, float] | None = None,
    samples: int = 1000,
    resolution: int = 31,
    landscape: LossLandscape | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> RaceResult:
    """Train the same initial weights with each optimizer on the same batches; one surface for all.

    Uses the session's compiled training loop (``compiled_steps``) and its optimizers
    (``make_optimizer``), so each path is exactly what the app would train. The shared
    plane passes through the common start θ_0 along the top two principal directions of
    every path's displacement θ_t − θ_0 together; a path whose loss stops being finite is
    cut there and marked diverged.
    """
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    from .session import CHUNK_CAP, compiled_steps, make_optimizer

    t0 = time.perf_counter()
    unknown = [o for o in optimizers if o not in OPTIMIZERS]
    if unknown or not optimizers:
        raise SurfaceError(
            f"unknown optimizer(s) {', '.join(unknown) or '(none)'}; known: {', '.join(OPTIMIZERS)}"
        )
    steps = int(steps)
    if steps < 2:
        raise SurfaceError("the race needs at least 2 steps")
    rates = {o: OPTIMIZERS[o].race_learning_rate for o in optimizers}
    rates[project.training.optimizer] = project.training.learning_rate
    rates.update(learning_rates or {})
    if landscape is None:
        landscape = LossLandscape.from_project(project, dataset, samples=samples, seed=project.training.seed)
    cfg = project.training
    theta0 = landscape.theta_init
    params0 = {
        "layers": {
            nid: {k: jnp.asarray(v) for k, v in lp.items()} for nid, lp in landscape.unflatten(theta0).items()
        }
    }
    layer_ids = tuple(params0["layers"])
    every = max(1, steps // max(1, points))
    n_chunks = max(1, steps // every)
    x_train = jnp.asarray(dataset.x_train)
    y_train = jnp.asarray(dataset.y_train, dtype=jnp.int32)
    n = len(dataset.x_train)
    batch = min(cfg.batch_size, n)
    per_epoch = max(1, n // batch)
    rng = np.random.default_rng(cfg.seed)  # the batches the session would draw
    order = np.concatenate(
        [
            rng.permutation(n)[: per_epoch * batch].reshape(per_epoch, batch)
            for _ in range(math.ceil(n_chunks * every / per_epoch))
        ]
    ).astype(np.int32)
    order_dev = jnp.asarray(order)
    trajectories: dict[str, Trajectory] = {}
    diverged: dict[str, bool] = {}
    for name in optimizers:
        if cancel is not None and cancel():
            raise SurfaceCancelled("the optimizer race was cancelled")
        fns = compiled_steps(
            landscape.graphdef,
            landscape.head,
            name,
            float(cfg.momentum),
            float(cfg.l1),
            float(cfg.l2),
            layer_ids,
        )
        tx = make_optimizer(name, rates[name], cfg.momentum)
        p, o, key = params0, tx.init(params0), jax.random.PRNGKey(cfg.seed)
        recorded_steps, thetas, bad = [0], [theta0], False
        for i in range(n_chunks):
            finite = True
            for start in range(i * every, (i + 1) * every, CHUNK_CAP):  # one call up to CHUNK_CAP steps
                n_steps = min(CHUNK_CAP, (i + 1) * every - start)
                p, o, key, losses, *_ = fns.train_steps(
                    p, o, key, x_train, y_train, order_dev, np.int32(start), np.int32(n_steps)
                )
                finite = finite and bool(np.all(np.isfinite(np.asarray(losses)[:n_steps])))
            theta = np.asarray(ravel_pytree(p)[0], np.float32)
            if not finite or not np.all(np.isfinite(theta)):
                bad = True
                break
            recorded_steps.append((i + 1) * every)
            thetas.append(theta)
        trajectories[name] = Trajectory(np.asarray(recorded_steps), np.stack(thetas))
        diverged[name] = bad
    everything = np.concatenate([t.thetas for t in trajectories.values()])
    d1, d2, explained = pca_directions(everything, theta0)
    paths, all_xy = [], []
    for name, traj in trajectories.items():
        coords, off = project_onto_plane(traj.thetas, theta0, d1, d2)
        all_xy.append(coords)
        paths.append(
            _path(name, traj.steps, coords, landscape.losses(traj.thetas, cancel), off, diverged[name])
        )
    a, b = grid_around(np.concatenate(all_xy), _check_resolution(resolution), margin=0.2)
    grid = landscape.plane(theta0, d1, d2, a, b, progress, cancel)
    surface = Surface(
        "race",
        a,
        b,
        grid,
        tuple(paths),
        explained,
        landscape.loss(theta0),
        ("PCA direction 1 (all paths)", "PCA direction 2 (all paths)"),
        "The optimizer race: the same start, the same batches",
        time.perf_counter() - t0,
        landscape.n_params,
        landscape.samples,
        theta0,
        d1,
        d2,
    )
    return RaceResult(surface, {o: rates[o] for o in optimizers}, trajectories)


def optimizer_label(name: str) -> str:
    """A human name for an optimizer key, the key itself for one nnviz does not know."""
    return OPTIMIZERS[name].title if name in OPTIMIZERS else name
