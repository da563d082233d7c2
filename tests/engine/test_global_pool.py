"""GlobalAveragePool2D in the engine: the mean of each map, trained by a session, raced by the optimizers."""

from __future__ import annotations

import numpy as np

from nnviz.core.datasets import Dataset
from nnviz.core.graph import Network
from nnviz.engine.messages import Finished, Snapshot
from nnviz.engine.surface import race

from .test_model import close, ids, make, rand, run
from .test_session import of, project
from .test_session import run as run_session


def gap_cnn(filters=4):
    return Network.chain(
        "Input",
        ("Conv2D", {"filters": filters, "kernel_size": 3, "activation": "relu"}),
        "GlobalAveragePool2D",
        ("Dense", {"units": 2, "activation": "softmax"}),
        "Output",
    )


def bright_or_dark(n=200, size=8, seed=0):
    """Images whose class is whether they are bright overall: what an average over each map sees."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 2).astype(np.int32)
    x = (rng.random((n, size, size, 1)) * 0.5 + 0.4 * y[:, None, None, None]).astype(np.float32)
    k = n * 3 // 4
    return Dataset("bright-or-dark", x[:k], y[:k], x[:0], y[:0], x[k:], y[k:], ("dark", "bright"), "image")


def test_each_output_is_the_mean_of_one_feature_map():
    net = gap_cnn()
    model, analysis = make(net, (7, 9, 3), 2)
    (cid,), (gid,) = ids(net, "Conv2D"), ids(net, "GlobalAveragePool2D")
    x = rand((3, 7, 9, 3), 4)
    nodes, _ = run(model, x)
    assert nodes[gid].shape == (3, 4) == (3, *analysis.shapes[gid])
    close(nodes[gid], nodes[cid].mean(axis=(1, 2)))


def test_a_session_trains_it_and_every_snapshot_carries_its_values():
    ds = bright_or_dark()
    proj = project(gap_cnn(), epochs=8, batch_size=16, learning_rate=0.05, optimizer="adam")
    session, result, msgs = run_session(proj, ds, probe_size=8)
    assert isinstance(result, Finished), result
    losses = [e.train_loss for e in session.history]
    assert losses[-1] < 0.7 * losses[0]
    assert result.metrics["test_accuracy"] > 0.8
    (gid,) = ids(proj.network, "GlobalAveragePool2D")
    (cid,) = ids(proj.network, "Conv2D")
    snap = of(msgs, Snapshot)[-1]
    assert snap.activations[gid].shape == (8, 4) and gid not in snap.params  # no weights of its own
    np.testing.assert_allclose(
        snap.activations[gid], snap.activations[cid].mean(axis=(1, 2)), rtol=1e-5, atol=1e-6
    )


def test_the_optimizer_race_runs_on_it():
    ds = bright_or_dark()
    proj = project(gap_cnn(), batch_size=16, learning_rate=0.05, optimizer="sgd")
    result = race(proj, ds, optimizers=("sgd", "adamw"), steps=10, points=5, samples=60, resolution=5)
    surf = result.surface
    assert [p.name for p in surf.paths] == ["sgd", "adamw"]
    for p in surf.paths:
        assert not p.diverged and np.all(np.isfinite(p.loss)) and p.loss[-1] < p.loss[0]
    assert np.all(np.isfinite(surf.loss))
