"""The loss landscape: the training loss of one network on a fixed evaluation subset, as a function of θ.

All parameters are one flat vector θ (``jax.flatten_util.ravel_pytree`` of the session's
pure parameter dict ``{"layers": {node_id: {"kernel", "bias"}}}``). The loss is the one
training minimises (the Output node's head, plus L1/L2), evaluated with dropout off. A
plane f(a, b) = L(c + a·d1 + b·d2) is evaluated in chunks of grid points, each chunk one
jitted ``vmap`` call, with a progress callback and a cancel callback, on whatever thread
calls it (never the GUI thread: it blocks). JAX is imported only when a loss is computed.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ...core.datasets import Dataset
from ...core.graph import Network, analyze
from ...core.layers import Context, Role
from ...core.project import Project
from ..training import padded_batches, with_penalty
from .errors import SurfaceCancelled, SurfaceError
from .trajectory import flatten_layers

ProgressFn = Callable[[int, int], None]  # (grid points done, total)
CancelFn = Callable[[], bool]

_NOT_COUNTED = (Role.INPUT, Role.RESHAPE, Role.OUTPUT)  # not counted as values of a grid point (from_project)


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
        self.x, self.y, self.mask = padded_batches(
            np.asarray(x, np.float32), np.asarray(y).astype(np.int32), self.sample_batch
        )
        n_batches = int(self.x.shape[0])
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

        from ..model import build_model

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
        # Values per sample that differ between grid points (the input and its reshapes
        # are shared by all of them, and a reshape holds no values of its own).
        floats = sum(
            int(np.prod(s))
            for nid, s in analysis.shapes.items()
            if s and network.nodes[nid].layer.role not in _NOT_COUNTED
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

        from ..model import head_losses

        model = nnx.merge(self.graphdef, p)

        def batch_sum(batch):
            x, y, m = batch
            return jnp.sum(head_losses(self.head, model(x), y) * m)

        if len(xs) == 1:
            total = batch_sum((xs[0], ys[0], ms[0]))
        else:
            total = jnp.sum(jax.lax.map(batch_sum, (xs, ys, ms)))
        loss = total / self.samples
        if self.l1 or self.l2:  # the training step's own penalty
            kernels = [
                lp["kernel"].dense() if isinstance(lp["kernel"], _PlaneKernel) else lp["kernel"]
                for lp in p["layers"].values()
            ]
            loss = with_penalty(loss, kernels, self.l1, self.l2)
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
    """The fully connected layer reading the raw input (directly or through reshapes), if there is one.

    A layer with weights that does not slide over an image (a Dense) computes
    ``x @ kernel``, the product _PlaneKernel splits; a convolution reads its kernel otherwise.
    """
    for nid in analysis.order:
        layer = network.nodes[nid].layer
        if not layer.has_weights or layer.spatial:
            continue
        src = network.inputs_of(nid)
        while len(src) == 1 and network.nodes[src[0]].layer.role is Role.RESHAPE:
            src = network.inputs_of(src[0])
        if len(src) == 1 and network.nodes[src[0]].layer.role is Role.INPUT:
            return nid
    return None
