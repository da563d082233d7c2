"""A thread that computes loss surfaces for the window, so the GUI never waits on JAX.

The window sends requests (a method, the project, the dataset, the recorded path) and
reads plain messages back (progress, the finished Surface, a failure written for the
user, the true loss of a live point). A new request cancels the one in flight: only the
newest question is worth answering. The compiled loss of the last network is kept, so
asking again (a finer grid, the live line while training) does not compile again.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.datasets import Dataset
from ..core.project import Project
from .messages import drain
from .surface import (
    METHODS,
    LossLandscape,
    Surface,
    SurfaceCancelled,
    SurfaceError,
    Trajectory,
    exact_surface,
    flatten_layers,
    line_surface,
    race,
    random_surface,
    trajectory_surface,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class SurfaceRequest:
    """What to compute: ``method`` (pca, random, line, race, exact) for ``project`` on ``dataset``.

    The path is a ``trajectory``, or the ``snapshots`` it is made of (anything with ``step``
    and ``params``): those are flattened on the worker's thread, not the caller's.
    """

    method: str
    project: Project
    dataset: Dataset
    trajectory: Trajectory | None = None
    resolution: int = 31
    samples: int = 1000
    race_steps: int = 200
    snapshots: tuple = ()

    def path(self) -> Trajectory | None:
        if self.trajectory is not None or not self.snapshots:
            return self.trajectory
        return Trajectory(
            np.asarray([s.step for s in self.snapshots], np.int64),
            np.stack([flatten_layers(s.params) for s in self.snapshots]).astype(np.float32),
        )


@dataclass(frozen=True)
class SurfaceProgress:
    job: int
    done: int
    total: int


@dataclass(frozen=True, eq=False)
class SurfaceReady:
    job: int
    surface: Surface
    request: SurfaceRequest


@dataclass(frozen=True)
class SurfaceFailed:
    """``reason`` is for the user; ``cancelled`` when a newer request or Cancel ended it."""

    job: int
    reason: str
    cancelled: bool = False


@dataclass(frozen=True)
class PointLoss:
    """The true loss L(θ_t) of a live point (on the same samples as the surface)."""

    step: int
    loss: float


class SurfaceWorker:
    """Owns every JAX call of the loss surface, on one daemon thread started on first use."""

    def __init__(self) -> None:
        self._jobs: queue.Queue = queue.Queue()
        self._events: collections.deque = collections.deque(maxlen=1000)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._job = 0  # the newest job id; older ones are cancelled
        self._cancelled = 0  # every job up to this id is cancelled
        self._point: tuple[np.ndarray, int] | None = None  # latest wins
        self._landscape: LossLandscape | None = None
        self._landscape_key: Any = None
        self._closed = False

    # ------------------------------------------------------------ any thread (the GUI's)

    def compute(self, request: SurfaceRequest) -> int:
        """Start computing ``request`` (cancelling any older one); its job id."""
        with self._lock:
            self._job += 1
            job = self._job
            self._cancelled = job - 1
        self._ensure_thread()
        self._jobs.put(("surface", job, request))
        return job

    def point_loss(self, theta: np.ndarray, step: int) -> None:
        """Ask for L(θ) of a live point; only the newest one asked for is answered."""
        with self._lock:
            first = self._point is None
            self._point = (np.asarray(theta, np.float32), int(step))
        if first:
            self._ensure_thread()
            self._jobs.put(("point", 0, None))

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = self._job

    @property
    def busy_job(self) -> int:
        """The newest job id that is neither finished nor cancelled (0: idle)."""
        with self._lock:
            return self._job if self._job > self._cancelled else 0

    def drain(self) -> list[Any]:
        return drain(self._events)

    def close(self, timeout: float = 2.0) -> None:
        self._closed = True
        self.cancel()
        self._jobs.put(("quit", 0, None))
        if self._thread is not None:
            self._thread.join(timeout)

    # ------------------------------------------------------------ the thread

    def _ensure_thread(self) -> None:
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(target=self._run, name="nnviz-surface", daemon=True)
            self._thread.start()

    def _is_cancelled(self, job: int) -> bool:
        with self._lock:
            return job <= self._cancelled or self._closed

    def _run(self) -> None:
        while True:
            kind, job, request = self._jobs.get()
            if kind == "quit":
                return
            if kind == "point":
                self._answer_point()
                continue
            if self._is_cancelled(job):
                continue
            try:
                surface = self._compute(job, request)
            except SurfaceCancelled:
                self._events.append(SurfaceFailed(job, "Cancelled.", cancelled=True))
            except SurfaceError as exc:
                self._events.append(SurfaceFailed(job, str(exc)))
            except MemoryError:
                self._events.append(SurfaceFailed(job, "Out of memory: try a smaller grid or fewer samples."))
            except Exception as exc:  # never a traceback in the user's face; keep it in the log
                log.exception("loss surface failed")
                text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self._events.append(SurfaceFailed(job, f"The loss surface could not be computed: {text}"))
            else:
                self._events.append(SurfaceReady(job, surface, request))
                with self._lock:  # done: no longer busy
                    self._cancelled = max(self._cancelled, job)

    def _landscape_for(self, request: SurfaceRequest) -> LossLandscape:
        import json

        p = request.project
        key = (
            json.dumps(
                {"network": p.to_dict()["network"], "training": p.to_dict()["training"]},
                sort_keys=True,
                default=str,
            ),
            id(request.dataset),
            request.samples,
        )
        if key != self._landscape_key:
            self._landscape = None  # free the old one before building the next
            self._landscape = LossLandscape.from_project(
                p, request.dataset, samples=request.samples, seed=p.training.seed
            )
            self._landscape_key = key
        return self._landscape

    def _compute(self, job: int, request: SurfaceRequest) -> Surface:
        def progress(done: int, total: int) -> None:
            self._events.append(SurfaceProgress(job, int(done), int(total)))

        def cancel() -> bool:
            return self._is_cancelled(job)

        progress(0, request.resolution**2)
        method = request.method
        if method == "race":
            return race(
                request.project,
                request.dataset,
                steps=request.race_steps,
                samples=request.samples,
                resolution=request.resolution,
                landscape=self._landscape_for(request),
                progress=progress,
                cancel=cancel,
            ).surface
        landscape = self._landscape_for(request)
        traj = request.path()
        kw = {"progress": progress, "cancel": cancel}
        if method == "exact":
            return exact_surface(landscape, traj, request.resolution, **kw)
        if traj is None or len(traj) < 2:
            raise SurfaceError("Train first: the surface is drawn around the path training takes.")
        if method == "pca":
            return trajectory_surface(landscape, traj, request.resolution, **kw)
        if method == "random":
            return random_surface(landscape, traj.thetas[-1], request.resolution, trajectory=traj, **kw)
        if method == "line":
            return line_surface(
                landscape, traj.thetas[0], traj.thetas[-1], max(request.resolution, 41), trajectory=traj, **kw
            )
        raise SurfaceError(f"unknown method {method!r}; known: {', '.join(METHODS)}")

    def _answer_point(self) -> None:
        with self._lock:
            point, self._point = self._point, None
        landscape = self._landscape
        if point is None or landscape is None:
            return
        theta, step = point
        if theta.shape != (landscape.n_params,):
            return  # a point of another network
        try:
            self._events.append(PointLoss(step, float(landscape.loss(theta))))
        except Exception:  # a live readout is not worth a message; the next point may work
            log.exception("loss of a live point failed")
