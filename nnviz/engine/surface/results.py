"""What a loss surface computation gives back, as plain numpy: what the panel and the CLI draw.

Nothing here needs JAX, so the window can import it and draw a surface on the GUI thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...core.optimizers import OPTIMIZERS
from .errors import SurfaceError
from .planes import project_onto_plane
from .trajectory import Trajectory

# Every kind of surface (Surface.method), with the name the window gives it, in the order it lists them.
METHODS = {
    "pca": "Descent plane (PCA of the path)",
    "random": "Random plane around the weights",
    "line": "Straight line from the start",
    "race": "Optimizer race",
    "exact": "Exact surface (two weights)",
}


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

    @classmethod
    def from_arrays(cls, name, steps, coords, losses, off, diverged=False) -> PathOnPlane:
        """A path from any array-likes: steps as int64, everything else as float64."""
        return cls(
            name,
            np.asarray(steps, np.int64),
            np.asarray(coords, np.float64),
            np.asarray(losses, np.float64),
            np.asarray(off, np.float64),
            diverged,
        )


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
class RaceResult:
    """The optimizer race: every path on one shared surface, plus the rates used."""

    surface: Surface
    learning_rates: dict[str, float] = field(default_factory=dict)
    trajectories: dict[str, Trajectory] = field(default_factory=dict)


def optimizer_label(name: str) -> str:
    """A human name for an optimizer key, the key itself for one nnviz does not know."""
    return OPTIMIZERS[name].title if name in OPTIMIZERS else name
