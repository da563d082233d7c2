"""The loss surface: the training loss over a plane (or a line) through weight space.

    landscape.py   LossLandscape: the loss of one network as a function of its flat θ,
                   on a fixed subset of the training samples (the only module that runs JAX
                   for a surface, together with race.py)
    planes.py      directions through weight space (random, PCA of a path), projections
                   onto a plane and grids over it (numpy)
    slices.py      the descent plane, a random plane and the straight line around trained weights
    exact.py       the model with exactly two weights and its whole surface
    race.py        the optimizer race: every optimizer from one start, on one surface
    trajectory.py  the path θ_t that training took, recorded from Snapshots (numpy)
    results.py     Surface, PathOnPlane, RaceResult: what the panel and the CLI draw (numpy)
    errors.py      SurfaceError, SurfaceCancelled

Importing the package imports no JAX; computing a surface does. The window imports only
the numpy modules (results, trajectory, planes); the SurfaceWorker runs the rest on its
own thread.
"""

from .errors import SurfaceCancelled, SurfaceError
from .exact import exact_surface, two_weight_project
from .landscape import CancelFn, LossLandscape, ProgressFn
from .planes import (
    check_resolution,
    filter_normalized,
    grid_around,
    pca_directions,
    project_onto_plane,
    random_directions,
)
from .race import race
from .results import METHODS, PathOnPlane, RaceResult, Surface, optimizer_label
from .slices import line_surface, random_surface, trajectory_surface
from .trajectory import Trajectory, TrajectoryRecorder, flatten_layers

__all__ = [
    "METHODS",
    "CancelFn",
    "LossLandscape",
    "PathOnPlane",
    "ProgressFn",
    "RaceResult",
    "Surface",
    "SurfaceCancelled",
    "SurfaceError",
    "Trajectory",
    "TrajectoryRecorder",
    "check_resolution",
    "exact_surface",
    "filter_normalized",
    "flatten_layers",
    "grid_around",
    "line_surface",
    "optimizer_label",
    "pca_directions",
    "project_onto_plane",
    "race",
    "random_directions",
    "random_surface",
    "trajectory_surface",
    "two_weight_project",
]
