"""The optimizer race: every optimizer trained from the same start on the same batches, on one surface."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from ...core.datasets import Dataset
from ...core.optimizers import OPTIMIZERS
from ...core.project import Project
from ..training import CHUNK_CAP, batch_order, batching, compiled_steps, make_optimizer
from .errors import SurfaceCancelled, SurfaceError
from .landscape import CancelFn, LossLandscape, ProgressFn
from .planes import check_resolution, grid_around, pca_directions, project_onto_plane
from .results import PathOnPlane, RaceResult, Surface
from .trajectory import Trajectory


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

    Uses the training loop the session compiles (``compiled_steps``) and its optimizers
    (``make_optimizer``), so each path is exactly what the app would train. The shared
    plane passes through the common start θ_0 along the top two principal directions of
    every path's displacement θ_t − θ_0 together; a path whose loss stops being finite is
    cut there and marked diverged.
    """
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

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
    batch, _ = batching(n, cfg.batch_size)
    order_dev = jnp.asarray(batch_order(cfg.seed, n, batch, n_chunks * every))  # the session's batches
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
            PathOnPlane.from_arrays(
                name, traj.steps, coords, landscape.losses(traj.thetas, cancel), off, diverged[name]
            )
        )
    a, b = grid_around(np.concatenate(all_xy), check_resolution(resolution), margin=0.2)
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
