"""A training session learns the moons toy set and its snapshots carry the decision plane."""

from __future__ import annotations

import numpy as np

from nnviz.engine.messages import Finished, Snapshot

from .test_session import mlp, of, project, run


def test_session_learns_moons_and_draws_a_curved_boundary():
    proj = project(mlp(hidden=16), dataset="moons", n_samples=400, epochs=20, learning_rate=0.1)
    session, result, msgs = run(proj)
    assert isinstance(result, Finished), result
    assert session.dataset.name == "moons" and session.dataset.input_shape == (2,)
    assert result.metrics["test_accuracy"] > 0.95
    losses = [e.train_loss for e in session.history]
    assert losses[-1] < 0.5 * losses[0]

    plane = of(msgs, Snapshot)[-1].plane  # what the decision-boundary panel draws
    assert plane is not None
    decision = plane.probabilities.argmax(-1)
    assert set(np.unique(decision)) == {0, 1}
    # The plane's decision at each training point (its nearest grid cell) is the point's class.
    x, y = session.dataset.x_train, session.dataset.y_train
    col = np.abs(plane.xs[None, :] - x[:, :1]).argmin(1)
    row = np.abs(plane.ys[None, :] - x[:, 1:]).argmin(1)
    assert np.mean(decision[row, col] == y) > 0.93
    # Curved: the tips and tops of both moons are on their own side. The lower moon's tip
    # at (-1.5, 0.75) lies inside the triangle of the upper moon's three points, so no
    # straight line could put all six right.
    upper = [(-4.5, -0.75), (-1.5, 2.25), (1.5, -0.75)]
    lower = [(-1.5, 0.75), (1.5, -2.25), (4.5, 0.75)]
    for points, cls in ((upper, 0), (lower, 1)):
        for px, py in points:
            assert decision[np.abs(plane.ys - py).argmin(), np.abs(plane.xs - px).argmin()] == cls, (px, py)
