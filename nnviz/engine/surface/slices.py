"""Slices of the landscape around trained weights: the descent plane (PCA of the path), a random plane, the straight line.

Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets" (filter-normalised random
directions; PCA directions of the optimisation path) and Goodfellow et al. 2015,
"Qualitatively characterizing neural network optimization problems" (the straight line
from the initial to the trained weights).
"""

from __future__ import annotations

import math
import time

import numpy as np

from .errors import SurfaceError
from .landscape import CancelFn, LossLandscape, ProgressFn
from .planes import check_resolution, grid_around, pca_directions, project_onto_plane, random_directions
from .results import PathOnPlane, Surface
from .trajectory import Trajectory


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
    resolution = check_resolution(resolution)
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
        (PathOnPlane.from_arrays(name, trajectory.steps, coords, losses, off),),
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
    resolution = check_resolution(resolution)
    theta = np.asarray(theta, np.float32)
    d1, d2 = random_directions(theta, landscape, seed)
    a = np.linspace(-span, span, resolution, dtype=np.float32)
    grid = landscape.plane(theta, d1, d2, a, a, progress, cancel)
    center_loss = landscape.loss(theta)
    paths = ()
    if trajectory is not None and len(trajectory):
        coords, off = project_onto_plane(trajectory.thetas, theta, d1, d2)
        paths = (
            PathOnPlane.from_arrays(
                "path", trajectory.steps, coords, landscape.losses(trajectory.thetas, cancel), off
            ),
        )
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
    resolution = check_resolution(resolution)
    theta0, theta1 = np.asarray(theta0, np.float32), np.asarray(theta1, np.float32)
    d = theta1 - theta0
    if not np.any(d):
        raise SurfaceError("the two ends of the line are the same weights (train first)")
    a = np.linspace(lo, hi, resolution, dtype=np.float32)
    curve = landscape.plane(theta0, d, np.zeros_like(d), a, np.zeros(1, np.float32), progress, cancel)[0]
    paths = ()
    if trajectory is not None and len(trajectory):
        coords, off = project_onto_plane(trajectory.thetas, theta0, d)
        paths = (
            PathOnPlane.from_arrays(
                "path", trajectory.steps, coords, landscape.losses(trajectory.thetas, cancel), off
            ),
        )
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
