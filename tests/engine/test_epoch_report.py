"""The epoch-end report: confusion matrix and most confidently wrong samples of a held-out split.

Checked against the model's own predictions, computed here again from the final weights
with plain Flax and numpy.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnviz.core.datasets import Dataset, DatasetSpec
from nnviz.core.graph import Network, analyze
from nnviz.core.layers import Context
from nnviz.core.project import Project, TrainingConfig
from nnviz.engine.messages import EpochEnd, EvalReport
from nnviz.engine.options import SessionOptions
from nnviz.engine.session import REPORT_SAMPLES, TrainingSession


def images(n, seed=0, classes=3):
    """Noisy 6x6 images whose class is the brightest third of the rows: learnable, not at once."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n).astype(np.int32)
    x = rng.random((n, 6, 6, 1)).astype(np.float32) * 0.8
    for i, c in enumerate(y):
        x[i, 2 * c : 2 * c + 2] += 0.25
    return x, y


def image_dataset(n_test=120, n_val=0):
    x, y = images(240 + n_val + n_test)
    tr, va = slice(0, 240), slice(240, 240 + n_val)
    te = slice(240 + n_val, 240 + n_val + n_test)
    return Dataset(
        "tiny-images", x[tr], y[tr], x[va], y[va], x[te], y[te], ("top", "middle", "bottom"), "image"
    )


def dense_net(out_units=3, out_act="softmax"):
    return Network.chain("Input", "Flatten", ("Dense", {"units": out_units, "activation": out_act}), "Output")


def train(ds, net=None, epochs=2, **kw):
    proj = Project(
        net or dense_net(),
        DatasetSpec("xor"),
        TrainingConfig(epochs=epochs, batch_size=16, learning_rate=0.05, optimizer="sgd"),
    )
    msgs: list = []
    kw.setdefault("max_chunk", 1)
    session = TrainingSession(proj, SessionOptions(**kw), dataset=ds, on_message=msgs.append)
    result = session.run()
    return proj, session, result, [m for m in msgs if isinstance(m, EpochEnd)]


def own_probabilities(proj, session, x):
    """The trained network's class probabilities for ``x``, computed outside the session."""
    import jax.numpy as jnp
    from flax import nnx

    from nnviz.engine.model import build_model, head_probabilities

    ds = session.dataset
    ctx = Context(tuple(ds.input_shape), ds.n_classes, ds.name)
    analysis = analyze(proj.network, ctx)
    model = build_model(proj.network, analysis, ctx, init=proj.training.init, seed=proj.training.seed)
    graphdef, state = nnx.split(model)
    params = nnx.to_pure_dict(state)
    params["layers"] = {
        nid: {k: jnp.asarray(v) for k, v in p.items()} for nid, p in session.final_params.items()
    }
    return np.asarray(head_probabilities(model.head, nnx.merge(graphdef, params)(jnp.asarray(x))))


def check_against_own_predictions(report, probs, x, y):
    n_classes = probs.shape[1]
    pred = probs.argmax(axis=1)
    expected = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(expected, (y, pred), 1)
    np.testing.assert_array_equal(report.confusion, expected)
    assert report.confusion.dtype == np.int64 and report.n_samples == len(y)
    assert report.accuracy == pytest.approx(np.mean(pred == y))

    wrong = np.flatnonzero(pred != y)
    m = min(REPORT_SAMPLES, len(wrong))
    assert len(report.wrong_indices) == m
    idx = report.wrong_indices
    assert np.all(y[idx] != pred[idx])  # really wrong
    np.testing.assert_array_equal(report.wrong_true, y[idx])
    np.testing.assert_array_equal(report.wrong_predicted, pred[idx])
    np.testing.assert_array_equal(report.wrong_x, x[idx])  # the split's own inputs
    np.testing.assert_allclose(report.wrong_probabilities, probs[idx], rtol=1e-5, atol=1e-6)
    conf = report.wrong_confidence
    assert np.all(np.diff(conf) <= 0)  # the most confident first
    # ... and no wrong sample left out is more confident than the least confident kept.
    left_out = np.setdiff1d(wrong, idx)
    if len(left_out) and m:
        assert probs[left_out].max(axis=1).max() <= conf[-1] + 1e-6
    for a in (
        report.confusion,
        report.wrong_indices,
        report.wrong_x,
        report.wrong_true,
        report.wrong_predicted,
        report.wrong_probabilities,
    ):
        assert type(a) is np.ndarray  # numpy, never a JAX array


def test_report_on_the_test_split_matches_the_models_own_predictions():
    ds = image_dataset()
    proj, session, result, epochs = train(ds)
    assert [e.epoch for e in epochs] == [1, 2]
    for e in epochs:
        r = e.report
        assert isinstance(r, EvalReport) and r.split == "test" and (r.epoch, r.step) == (e.epoch, e.step)
        assert r.accuracy == pytest.approx(e.test_accuracy)
        assert r.wrong_x.shape[1:] == (6, 6, 1) and r.wrong_probabilities.shape[1] == 3
    last = epochs[-1].report
    assert len(last.wrong_indices) == REPORT_SAMPLES  # more than 16 wrong in this run
    probs = own_probabilities(proj, session, ds.x_test)
    check_against_own_predictions(last, probs, ds.x_test, ds.y_test)
    assert last.wrong_x.dtype == ds.x_test.dtype


def test_report_falls_back_to_the_validation_split_and_handles_fewer_samples_than_k():
    ds = image_dataset(n_test=0, n_val=10)  # 10 samples: fewer than 16, so fewer wrong ones too
    proj, session, _, epochs = train(ds, epochs=1)
    r = epochs[-1].report
    assert r.split == "val" and r.n_samples == 10
    probs = own_probabilities(proj, session, ds.x_val)
    check_against_own_predictions(r, probs, ds.x_val, ds.y_val)
    assert len(r.wrong_indices) < 10


def test_no_held_out_split_no_report():
    x, y = images(100)
    ds = Dataset("tiny-images", x, y, x[:0], y[:0], x[:0], y[:0], ("a", "b", "c"), "image")
    _, _, result, epochs = train(ds, epochs=1)
    assert epochs and all(e.report is None for e in epochs)
    assert result.reason == "completed"


def test_single_sigmoid_unit_on_2d_points():
    """A binary head with one unit: two classes, and the wrong 'samples' are the points themselves."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int32)  # xor-like: a single unit gets many wrong
    ds = Dataset("points", x[:200], y[:200], x[:0], y[:0], x[200:], y[200:], ("orange", "blue"), "toy2d")
    net = Network.chain("Input", ("Dense", {"units": 1, "activation": "sigmoid"}), "Output")
    proj, session, _, epochs = train(ds, net=net, epochs=1)
    r = epochs[-1].report
    assert r.confusion.shape == (2, 2) and r.wrong_x.shape == (REPORT_SAMPLES, 2)
    probs = own_probabilities(proj, session, ds.x_test)
    check_against_own_predictions(r, probs, ds.x_test, ds.y_test)


def test_report_does_not_depend_on_eval_batch_padding():
    """120 test samples in padded batches of 50 (30 padding rows, class 0): padding is never counted."""
    ds = image_dataset()
    _, s1, _, e1 = train(ds, epochs=1)
    _, s2, _, e2 = train(ds, epochs=1, eval_batch=50)
    np.testing.assert_array_equal(e1[-1].report.confusion, e2[-1].report.confusion)
    np.testing.assert_array_equal(e1[-1].report.wrong_indices, e2[-1].report.wrong_indices)
    assert e2[-1].report.n_samples == 120 and np.all(e2[-1].report.wrong_indices < 120)
