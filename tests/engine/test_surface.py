"""The loss surface: directions, projections, grids and the optimizer race, on tiny models (no Qt)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnviz.core.datasets import load_dataset
from nnviz.core.presets import load_preset
from nnviz.engine.messages import Snapshot
from nnviz.engine.options import SessionOptions
from nnviz.engine.session import TrainingSession
from nnviz.engine.surface import (
    LossLandscape,
    SurfaceCancelled,
    SurfaceError,
    Trajectory,
    TrajectoryRecorder,
    exact_surface,
    filter_normalized,
    line_surface,
    pca_directions,
    project_onto_plane,
    race,
    random_directions,
    random_surface,
    trajectory_surface,
    two_weight_project,
)


def _xor_project(**training):
    project = load_preset("xor-one-hidden")
    project.dataset = type(project.dataset)(**{**project.dataset.to_dict(), "n_samples": 200})
    return project.with_training(**{"epochs": 2, **training})


@pytest.fixture(scope="module")
def xor_run():
    """A short real run of the xor preset, recorded from its Snapshots."""
    project = _xor_project()
    recorder = TrajectoryRecorder()
    session = TrainingSession(
        project, SessionOptions(snapshot_interval=0.0, max_chunk=1, download=False), on_message=recorder
    )
    session.run()
    landscape = LossLandscape.from_project(project, session.dataset, samples=80)
    return project, session, recorder.trajectory(), landscape


def _session_loss(project, landscape, theta):
    """The model's loss as the training session's own evaluation computes it."""
    import jax.numpy as jnp

    from nnviz.engine.session import compiled_steps

    layers = landscape.unflatten(theta)
    params = {"layers": {nid: {k: jnp.asarray(v) for k, v in lp.items()} for nid, lp in layers.items()}}
    fns = compiled_steps(landscape.graphdef, landscape.head, "adam", 0.9, 0.0, 0.0, tuple(layers))
    n = landscape.samples
    x = np.asarray(landscape.x).reshape(-1, *landscape.x.shape[2:])[:n]
    y = np.asarray(landscape.y).reshape(-1)[:n]
    total = fns.eval_all(params, jnp.asarray(x[None]), jnp.asarray(y[None]), jnp.ones((1, n)))[0]
    return float(total) / n


# ---------------------------------------------------------------- directions


def test_filter_normalised_slices_have_the_weights_norms(xor_run):
    _, _, traj, landscape = xor_run
    theta = traj.thetas[-1]
    d1, d2 = random_directions(theta, landscape, seed=3)
    assert not np.allclose(d1, d2)
    for d in (d1, d2):
        for (_nid, key), (lo, hi, shape) in landscape.layer_slices.items():
            part, w = d[lo:hi].reshape(shape), theta[lo:hi].reshape(shape)
            if key == "bias":
                assert np.all(part == 0)
                continue
            axes = tuple(range(len(shape) - 1))
            np.testing.assert_allclose(
                np.linalg.norm(part, axis=axes), np.linalg.norm(w, axis=axes), rtol=1e-5
            )
    again, _ = random_directions(theta, landscape, seed=3)
    np.testing.assert_array_equal(again, d1)


def test_filter_normalisation_of_a_conv_kernel_is_per_filter():
    from nnviz.core.datasets import Dataset, DatasetSpec
    from nnviz.core.graph import Network
    from nnviz.core.project import Project, TrainingConfig

    rng = np.random.default_rng(0)
    x = rng.random((20, 6, 6, 1), dtype=np.float32)
    y = rng.integers(0, 2, 20).astype(np.int32)
    ds = Dataset("tiny", x, y, x[:0], y[:0], x[:4], y[:4], ("a", "b"), "image")
    net = Network.chain(
        "Input",
        ("Conv2D", {"filters": 3}),
        "Flatten",
        ("Dense", {"units": 2, "activation": "softmax"}),
        "Output",
    )
    landscape = LossLandscape.from_project(Project(net, DatasetSpec("xor"), TrainingConfig()), ds)
    theta = landscape.theta_init
    d = filter_normalized(rng.standard_normal(theta.size).astype(np.float32), theta, landscape)
    conv = [
        (lo, hi, s)
        for (nid, k), (lo, hi, s) in landscape.layer_slices.items()
        if k == "kernel" and len(s) == 4
    ]
    ((lo, hi, shape),) = conv
    assert shape[-1] == 3
    np.testing.assert_allclose(
        np.linalg.norm(d[lo:hi].reshape(-1, 3), axis=0),
        np.linalg.norm(theta[lo:hi].reshape(-1, 3), axis=0),
        rtol=1e-5,
    )
    center = landscape.plane(theta, d, d, np.zeros(1), np.zeros(1))[0, 0]
    assert center == pytest.approx(landscape.loss(theta), rel=1e-6)


# ---------------------------------------------------------------- the surface itself


def test_surface_at_the_origin_is_the_models_loss(xor_run):
    project, session, traj, landscape = xor_run
    theta = traj.thetas[-1]
    surf = random_surface(landscape, theta, resolution=5, trajectory=traj)
    assert surf.loss.shape == (5, 5) and surf.a[2] == 0 and surf.b[2] == 0
    expected = _session_loss(project, landscape, theta)
    assert surf.loss[2, 2] == pytest.approx(expected, rel=1e-5)
    assert surf.center_loss == pytest.approx(expected, rel=1e-5)
    assert surf.paths[0].off_plane[-1] == pytest.approx(0, abs=1e-4)  # θ_T is the plane's centre
    assert np.all(np.isfinite(surf.loss)) and surf.loss.min() <= expected + 1e-6


def test_the_fast_first_layer_gives_the_plain_forward_passes_values(xor_run):
    _, _, traj, landscape = xor_run
    assert landscape.fast_layer is not None
    theta = traj.thetas[-1]
    d1, d2 = random_directions(theta, landscape, seed=1)
    axis = np.linspace(-1, 1, 4, dtype=np.float32)
    fast = landscape.plane(theta, d1, d2, axis, axis)
    plain = LossLandscape(
        landscape.graphdef,
        landscape.head,
        {"layers": landscape.unflatten(theta)},
        np.asarray(landscape.x).reshape(-1, 2)[: landscape.samples],
        np.asarray(landscape.y).reshape(-1)[: landscape.samples],
    )
    assert plain.fast_layer is None
    np.testing.assert_allclose(plain.plane(theta, d1, d2, axis, axis), fast, rtol=1e-5)
    direct = [landscape.loss(theta + a * d1 + b * d2) for b in axis for a in axis]
    np.testing.assert_allclose(np.reshape(direct, (4, 4)), fast, rtol=1e-5)


def test_regularisation_is_part_of_the_loss():
    project = _xor_project(l2=0.01)
    ds = load_dataset(project.dataset)
    with_l2 = LossLandscape.from_project(project, ds, samples=50)
    without = LossLandscape.from_project(project.with_training(l2=0.0), ds, samples=50)
    theta = with_l2.theta_init
    kernels = sum(float(np.sum(lp["kernel"] ** 2)) for lp in with_l2.unflatten(theta).values())
    assert with_l2.loss(theta) == pytest.approx(without.loss(theta) + 0.01 * kernels, rel=1e-5)


def test_pca_of_a_path_in_a_known_plane_recovers_its_coordinates():
    rng = np.random.default_rng(0)
    n, t = 40, 25
    basis, _ = np.linalg.qr(rng.standard_normal((n, 2)))
    u, v = basis[:, 0], basis[:, 1]
    s = np.linspace(0, 1, t)
    q = np.stack([-4 * (1 - s) ** 2, 1.5 * np.sin(3 * s) * (1 - s)], axis=1)  # ends at (0, 0)
    _, _, wt = np.linalg.svd(q, full_matrices=False)
    q = q @ wt.T  # rotate so the coordinates are the principal axes themselves
    q *= np.where(q[0] * [1, -1] > 0, -1, 1)  # pca_directions' signs: start at x <= 0, y >= 0
    c = rng.standard_normal(n)
    thetas = (c + q[:, :1] * u + q[:, 1:] * v).astype(np.float32)
    d1, d2, explained = pca_directions(thetas, thetas[-1])
    coords, off = project_onto_plane(thetas, thetas[-1], d1, d2)
    np.testing.assert_allclose(coords, q, atol=1e-4)
    np.testing.assert_allclose(off, 0, atol=1e-4)
    assert sum(explained) == pytest.approx(1.0, abs=1e-6) and explained[0] > explained[1] > 0
    assert abs(float(d1 @ d2)) < 1e-5


def test_trajectory_surface_of_a_real_run(xor_run):
    _, session, traj, landscape = xor_run
    assert len(traj) > 5 and traj.steps[0] == 0 and traj.steps[-1] == session.result.step
    np.testing.assert_array_equal(traj.thetas[0], landscape.theta_init)  # the session's own init
    seen = []
    surf = trajectory_surface(landscape, traj, resolution=7, progress=lambda d, t: seen.append((d, t)))
    path = surf.paths[0]
    assert surf.method == "pca" and surf.loss.shape == (7, 7)
    assert seen[-1] == (49, 49) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    np.testing.assert_allclose(path.xy[-1], 0, atol=1e-5)
    assert surf.a[0] < path.xy[:, 0].min() and surf.a[-1] > path.xy[:, 0].max()  # a margin around it
    assert surf.b[0] < path.xy[:, 1].min() and surf.b[-1] > path.xy[:, 1].max()
    assert 0 < surf.explained_variance[1] <= surf.explained_variance[0] <= 1
    assert path.loss[-1] == pytest.approx(landscape.loss(traj.thetas[-1]), rel=1e-6)
    assert path.loss[-1] < path.loss[0]
    assert np.all(path.off_plane >= 0)
    data = surf.to_json()
    assert len(data["loss"]) == 7 and len(data["paths"][0]["x"]) == len(traj)


def test_line_runs_from_start_to_end(xor_run):
    _, _, traj, landscape = xor_run
    surf = line_surface(
        landscape, traj.thetas[0], traj.thetas[-1], resolution=11, lo=0.0, hi=1.0, trajectory=traj
    )
    assert surf.is_line and surf.loss.shape == (11,) and surf.b.size == 0
    assert surf.loss[0] == pytest.approx(landscape.loss(traj.thetas[0]), rel=1e-5)
    assert surf.loss[-1] == pytest.approx(landscape.loss(traj.thetas[-1]), rel=1e-5)
    np.testing.assert_allclose(surf.paths[0].xy[[0, -1], 0], [0, 1], atol=1e-5)


def test_exact_two_weight_surface_matches_direct_evaluation():
    project = two_weight_project(epochs=3)
    recorder = TrajectoryRecorder()
    session = TrainingSession(
        project, SessionOptions(snapshot_interval=0.0, max_chunk=1, download=False), on_message=recorder
    )
    session.run()
    ds = session.dataset
    landscape = LossLandscape.from_project(project, ds, samples=10_000)
    assert landscape.n_params == 2 and landscape.samples == len(ds.x_train)
    surf = exact_surface(landscape, recorder.trajectory(), resolution=6)
    x, y = ds.x_train.astype(np.float64), ds.y_train
    for j in (0, 3, 5):
        for i in (0, 2, 5):
            z = x @ np.array([surf.a[i], surf.b[j]], np.float64)
            p = 1 / (1 + np.exp(-z))
            direct = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
            assert surf.loss[j, i] == pytest.approx(direct, rel=1e-4)
    path = surf.paths[0]
    np.testing.assert_allclose(path.xy[0], 0)  # "zeros" initialisation: the walk starts at the origin
    assert path.loss[-1] < path.loss[0] and np.all(path.off_plane == 0)
    assert surf.a.min() <= 0 <= surf.a.max() and surf.b.min() <= 0 <= surf.b.max()
    with pytest.raises(SurfaceError, match="exactly 2 weights"):
        exact_surface(LossLandscape.from_project(_xor_project(), ds, samples=20))


def test_cancel_stops_a_grid():
    project = _xor_project()
    landscape = LossLandscape.from_project(project, load_dataset(project.dataset), samples=50)
    landscape.chunk = landscape.width = 4
    theta = landscape.theta_init
    d1, d2 = random_directions(theta, landscape)
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(SurfaceCancelled):
        landscape.plane(theta, d1, d2, np.linspace(-1, 1, 9), np.linspace(-1, 1, 9), cancel=cancel)
    assert len(calls) == 3  # asked before each chunk, stopped at the third of 21


def test_recorder_thins_but_keeps_the_first_and_last_points():
    rec = TrajectoryRecorder(max_points=8)
    for step in range(50):
        rec(
            Snapshot(
                step=step,
                epoch=1,
                probe_x=np.zeros((0, 2)),
                probe_y=np.zeros(0),
                activations={},
                params={"n": {"kernel": np.full((2, 1), step, np.float32), "bias": np.zeros(1, np.float32)}},
                grad_norms={},
                probabilities=np.zeros((0, 2)),
                loss=0.0,
                learning_rate=0.1,
            )
        )
    traj = rec.trajectory()
    assert len(traj) <= 9 and traj.steps[0] == 0 and traj.steps[-1] == 49
    assert np.all(np.diff(traj.steps) > 0)
    np.testing.assert_array_equal(traj.thetas[:, 1], traj.steps)  # bias first: sorted keys, as ravel_pytree


def test_race_puts_every_optimizer_on_one_plane():
    project = _xor_project()
    ds = load_dataset(project.dataset)
    result = race(project, ds, optimizers=("sgd", "adam"), steps=12, points=6, samples=60, resolution=5)
    surf = result.surface
    assert [p.name for p in surf.paths] == ["sgd", "adam"]
    assert surf.loss.shape == (5, 5) and surf.method == "race"
    for p in surf.paths:
        assert list(p.steps) == [0, 2, 4, 6, 8, 10, 12]
        np.testing.assert_allclose(p.xy[0], 0, atol=1e-5)  # the common start is the plane's centre
        assert p.loss[0] == pytest.approx(surf.center_loss, rel=1e-5) and not p.diverged
        assert surf.a[0] <= p.xy[:, 0].min() and p.xy[:, 0].max() <= surf.a[-1]
    assert not np.allclose(result.trajectories["sgd"].thetas[-1], result.trajectories["adam"].thetas[-1])
    assert result.learning_rates["adam"] == project.training.learning_rate
    with pytest.raises(SurfaceError, match="unknown optimizer"):
        race(project, ds, optimizers=("lbfgs",))


def test_bad_inputs_say_why(xor_run):
    _, _, traj, landscape = xor_run
    with pytest.raises(SurfaceError, match="at least two"):
        trajectory_surface(landscape, Trajectory(traj.steps[:1], traj.thetas[:1]))
    with pytest.raises(SurfaceError, match="grid"):
        random_surface(landscape, traj.thetas[-1], resolution=1)
    with pytest.raises(SurfaceError, match="same weights"):
        line_surface(landscape, traj.thetas[0], traj.thetas[0])
    with pytest.raises(SurfaceError, match="numbers"):
        landscape.flatten({"x": {"kernel": np.zeros(3)}})
    assert math.isfinite(landscape.loss(traj.thetas[0]))
