"""The loss-surface worker thread: answers the newest request, cancels older ones, explains failures."""

from __future__ import annotations

import time

import numpy as np
import pytest

from nnviz.core.datasets import load_dataset
from nnviz.core.presets import load_preset
from nnviz.engine.messages import Snapshot
from nnviz.engine.options import SessionOptions
from nnviz.engine.session import TrainingSession
from nnviz.engine.surface import Trajectory, flatten_layers
from nnviz.engine.surface_worker import (
    PointLoss,
    SurfaceFailed,
    SurfaceProgress,
    SurfaceReady,
    SurfaceRequest,
    SurfaceWorker,
)


@pytest.fixture(scope="module")
def run():
    project = load_preset("xor-one-hidden").with_training(epochs=2)
    ds = load_dataset(project.dataset)
    snaps = []
    TrainingSession(
        project,
        SessionOptions(snapshot_interval=0.0, max_chunk=1),
        dataset=ds,
        on_message=lambda m: snaps.append(m) if isinstance(m, Snapshot) else None,
    ).run()
    traj = Trajectory(
        np.asarray([s.step for s in snaps]), np.stack([flatten_layers(s.params) for s in snaps])
    )
    return project, ds, traj


def wait_for(worker, kinds, timeout=60.0):
    seen = []
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        seen += worker.drain()
        if any(isinstance(m, kinds) for m in seen):
            return seen
        time.sleep(0.01)
    raise AssertionError(f"no {kinds} in {seen}")


def test_descent_plane_with_progress_then_a_live_point(run):
    project, ds, traj = run
    w = SurfaceWorker()
    try:
        job = w.compute(SurfaceRequest("pca", project, ds, traj, resolution=11, samples=200))
        assert w.busy_job == job
        msgs = wait_for(w, SurfaceReady)
        ready = [m for m in msgs if isinstance(m, SurfaceReady)][0]
        assert ready.job == job and w.busy_job == 0
        s = ready.surface
        assert s.method == "pca" and s.loss.shape == (11, 11) and np.all(np.isfinite(s.loss))
        np.testing.assert_array_equal(s.paths[0].steps, traj.steps)
        assert any(isinstance(m, SurfaceProgress) and m.job == job for m in msgs)
        # the last point is the plane's centre: its true loss equals the surface's centre loss
        w.point_loss(traj.thetas[-1], int(traj.steps[-1]))
        point = [m for m in wait_for(w, PointLoss) if isinstance(m, PointLoss)][0]
        assert point.step == traj.steps[-1] and point.loss == pytest.approx(s.center_loss, rel=1e-5)
        # a point of another network is ignored, not an error: the worker takes its jobs in
        # order, so by the time a surface asked for after it is ready, it has been answered
        w.point_loss(np.zeros(3, np.float32), 1)
        after = w.compute(SurfaceRequest("line", project, ds, traj, resolution=11, samples=200))
        msgs = wait_for(w, SurfaceReady)
        assert [m.job for m in msgs if isinstance(m, SurfaceReady)] == [after]
        assert not [m for m in msgs if isinstance(m, (PointLoss, SurfaceFailed))]
    finally:
        w.close()


def test_newer_request_cancels_the_older_and_failures_are_explained(run):
    project, ds, traj = run
    w = SurfaceWorker()
    try:
        first = w.compute(SurfaceRequest("random", project, ds, traj, resolution=101, samples=500))
        second = w.compute(SurfaceRequest("line", project, ds, traj, resolution=21, samples=200))
        msgs = wait_for(w, SurfaceReady)
        ready = [m for m in msgs if isinstance(m, SurfaceReady)]
        assert [m.job for m in ready] == [second] and ready[0].surface.is_line
        assert not any(isinstance(m, SurfaceReady) and m.job == first for m in msgs)
        # no path yet: a sentence, not a traceback
        w.compute(SurfaceRequest("pca", project, ds, Trajectory(traj.steps[:1], traj.thetas[:1])))
        failed = [m for m in wait_for(w, SurfaceFailed) if isinstance(m, SurfaceFailed)][0]
        assert "Train" in failed.reason and not failed.cancelled
        # the exact surface needs exactly two weights, and says so
        w.compute(SurfaceRequest("exact", project, ds, traj, resolution=11, samples=100))
        failed = [m for m in wait_for(w, SurfaceFailed) if isinstance(m, SurfaceFailed)][0]
        assert "2 weights" in failed.reason
        # Cancel: the job is dropped (before it starts) or stopped between chunks, never delivered
        job = w.compute(SurfaceRequest("random", project, ds, traj, resolution=101, samples=1000))
        w.cancel()
        assert w.busy_job == 0
        after = w.compute(SurfaceRequest("line", project, ds, traj, resolution=11, samples=200))
        msgs = wait_for(w, SurfaceReady)
        assert [m.job for m in msgs if isinstance(m, SurfaceReady)] == [after]
        assert all(m.cancelled for m in msgs if isinstance(m, SurfaceFailed) and m.job == job)
    finally:
        w.close()
