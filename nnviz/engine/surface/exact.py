"""A model with exactly two weights, and its whole loss surface: no projection at all."""

from __future__ import annotations

import math
import time

import numpy as np

from ...core.datasets import DatasetSpec
from ...core.graph import Network
from ...core.project import Project, TrainingConfig
from .errors import SurfaceError
from .landscape import CancelFn, LossLandscape, ProgressFn
from .planes import check_resolution, grid_around
from .results import PathOnPlane, Surface
from .trajectory import Trajectory


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
    resolution = check_resolution(resolution)
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
            PathOnPlane.from_arrays(
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
