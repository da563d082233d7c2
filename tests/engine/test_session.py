"""TrainingSession on toy data: learning, messages, commands, divergence, weights files.

Every run is tiny (2D toy sets of a few hundred points, a few epochs or a fixed number
of steps); ``max_chunk=1`` is used where the chunk length does not matter, so that every
call is one step and no chunk is started ahead of a report.
"""

from __future__ import annotations

import math
import sys
import threading
import time

import numpy as np
import pytest

from nnviz.core.datasets import Dataset, DatasetSpec
from nnviz.core.graph import Network
from nnviz.core.optimizers import OPTIMIZERS
from nnviz.core.presets import load_preset
from nnviz.core.project import Project, TrainingConfig
from nnviz.engine.messages import Compiling, EpochEnd, Failed, Finished, Progress, Snapshot, StateChanged
from nnviz.engine.options import SessionOptions
from nnviz.engine.session import TrainingSession
from nnviz.engine.weights import WeightsError, check_compatible, load_weights, save_weights


def mlp(hidden=8, activation="tanh", out_units=2, out_act="softmax", loss="cross_entropy"):
    return Network.chain(
        "Input",
        ("Dense", {"units": hidden, "activation": activation}),
        ("Dense", {"units": out_units, "activation": out_act}),
        ("Output", {"loss": loss}),
    )


def project(net=None, dataset="xor", n_samples=200, validation_split=0.0, **training):
    training.setdefault("batch_size", 10)
    training.setdefault("epochs", 2)
    training.setdefault("learning_rate", 0.03)
    return Project(
        net or mlp(),
        DatasetSpec(dataset, n_samples=n_samples, validation_split=validation_split),
        TrainingConfig(**training),
        name="test",
    )


def run(proj, dataset=None, **kw):
    msgs: list = []
    kw.setdefault("max_chunk", 1)
    session = TrainingSession(proj, SessionOptions(**kw), dataset=dataset, on_message=msgs.append)
    result = session.run()
    return session, result, msgs


def of(msgs, cls):
    return [m for m in msgs if isinstance(m, cls)]


def pause_and_settle(session, msgs) -> int:
    """Pause a running session; once it says so and waits for a command, the step it stopped at."""
    session.pause()
    wait_for(msgs, lambda m: isinstance(m, StateChanged) and m.state == "paused")
    wait_until_waiting(session, paused=True)
    return max(p.step for p in of(msgs, Progress))


def wait_until_waiting(session, paused=False, timeout=60.0):
    """Return once the session's thread is blocked waiting to be told something.

    That is a paused session with nothing to do (``paused``: only that), or one waiting
    out a slow-motion frame: whatever it trained before is reported, and it trains
    nothing more until a command comes (or, in slow motion, the frame ends). The thread
    is seen waiting when its innermost Python frame is ``threading.Condition.wait`` (under
    ``queue.Queue.get``), with no timeout when it waits for a command alone; training
    waits for the device in C, never there.
    """
    thread = session._thread
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        frame = sys._current_frames().get(thread.ident)
        if frame is None:
            raise AssertionError("the session's thread has ended")
        if frame.f_code is threading.Condition.wait.__code__ and (
            not paused or frame.f_locals.get("timeout") is None
        ):
            return
        time.sleep(0.002)
    raise AssertionError(f"the session never waited for a command in {timeout} s (it kept training?)")


def wait_for(msgs, pred, timeout=60.0):
    """The first message in ``msgs`` (appended to by another thread) that ``pred`` accepts."""
    end = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < end:
        while seen < len(msgs):
            m = msgs[seen]
            seen += 1
            if pred(m):
                return m
        time.sleep(0.005)
    raise AssertionError(f"timed out; last messages: {msgs[-5:]}")


def l2(params, node_ids=None):
    return math.sqrt(
        sum(
            float(np.sum(p["kernel"] ** 2))
            for nid, p in params.items()
            if node_ids is None or nid in node_ids
        )
    )


# ---------------------------------------------------------------- a shared trained run


@pytest.fixture(scope="module")
def xor_run():
    proj = load_preset("xor-one-hidden").with_training(epochs=12)
    msgs: list = []
    session = TrainingSession(
        proj, SessionOptions(snapshot_interval=0.0, probe_size=16), on_message=msgs.append
    )
    result = session.run()
    return proj, session, result, msgs


def test_xor_preset_learns(xor_run):
    _, session, result, _ = xor_run
    assert isinstance(result, Finished), result
    assert result.reason == "completed"
    assert result.metrics["test_accuracy"] > 0.9
    assert result.metrics["train_accuracy"] > 0.9
    assert result.metrics["params"] == 4 * 2 + 4 + 4 * 2 + 2
    assert session.history[-1].train_loss < session.history[0].train_loss


def test_messages_arrive_in_order(xor_run):
    proj, session, result, msgs = xor_run
    names = [type(m).__name__ for m in msgs]
    assert names[0] == "StateChanged" and msgs[0].state == "running"
    assert msgs[-1] is result and isinstance(msgs[-2], StateChanged) and msgs[-2].state == "idle"
    first_progress = names.index("Progress")
    assert "Compiling" in names[:first_progress]
    epochs = of(msgs, EpochEnd)
    assert [e.epoch for e in epochs] == list(range(1, 13))
    steps_per_epoch = 250 // 10
    assert [e.step for e in epochs] == [steps_per_epoch * i for i in range(1, 13)]
    assert all(0 <= e.test_accuracy <= 1 and math.isnan(e.val_loss) for e in epochs)
    progress = of(msgs, Progress)
    assert [p.step for p in progress] == sorted(p.step for p in progress)
    assert progress[-1].step == result.step == 12 * steps_per_epoch
    assert all(
        p.total_steps == 12 * steps_per_epoch and p.learning_rate == pytest.approx(0.03) for p in progress
    )
    assert all(math.isfinite(p.train_loss) and 0 <= p.epoch_fraction <= 1 for p in progress)
    # Each epoch's end comes after that epoch's progress.
    assert names.index("EpochEnd") > first_progress
    assert session.history == epochs


def test_snapshot_contents(xor_run):
    proj, session, result, msgs = xor_run
    snaps = of(msgs, Snapshot)
    assert snaps[0].step == 0 and snaps[-1].step == result.step
    assert [s.step for s in snaps] == sorted(s.step for s in snaps)
    net = proj.network
    weighted = {n.id for n in net.nodes_of_type("Dense")}
    last = snaps[-1]
    assert last.probe_x.shape == (16, 2) and last.probe_y.shape == (16,)
    assert set(last.activations) == set(net.nodes)
    for nid, act in last.activations.items():
        assert isinstance(act, np.ndarray) and act.shape[0] == 16, net.nodes[nid].name
    assert set(last.params) == weighted == set(last.grad_norms)
    for nid, p in last.params.items():
        for k, v in p.items():
            assert v.shape == session.final_params[nid][k].shape
            np.testing.assert_array_equal(v, session.final_params[nid][k])
    assert all(math.isfinite(g) and g >= 0 for g in last.grad_norms.values())
    assert any(g > 0 for g in last.grad_norms.values())
    assert snaps[0].grad_norms == {}  # before any step there is no gradient
    assert last.probabilities.shape == (16, 2)
    np.testing.assert_allclose(last.probabilities.sum(axis=1), 1, rtol=1e-5)
    assert math.isfinite(last.loss) and last.learning_rate == pytest.approx(0.03)
    assert not np.array_equal(
        snaps[0].params[next(iter(weighted))]["kernel"], last.params[next(iter(weighted))]["kernel"]
    )


def test_weights_round_trip_bit_exact_and_reproduce_eval_loss(xor_run, tmp_path):
    proj, session, result, _ = xor_run
    path = tmp_path / "xor.weights.msgpack"
    session.save_weights(path)
    params, types, step = load_weights(path)
    assert step == result.step
    assert types == session.node_types
    assert set(params) == set(session.final_params)
    for nid, p in session.final_params.items():
        for k, v in p.items():
            assert params[nid][k].dtype == v.dtype
            assert params[nid][k].tobytes() == v.tobytes()
    # A new session starting from them, stopped before its first step, evaluates the same.
    again = TrainingSession(proj, SessionOptions(max_chunk=1), initial_params=(params, types))
    again.stop()
    res = again.run()
    assert isinstance(res, Finished) and res.reason == "stopped" and res.step == 0
    assert res.metrics["test_loss"] == result.metrics["test_loss"]
    assert res.metrics["test_accuracy"] == result.metrics["test_accuracy"]


def test_incompatible_weights_are_refused(xor_run, tmp_path):
    proj, session, _, _ = xor_run
    path = tmp_path / "w.msgpack"
    session.save_weights(path)
    params, types, _ = load_weights(path)
    other = project(mlp(hidden=5))  # same layout, another hidden size and other node ids
    res = TrainingSession(other, initial_params=(params, types)).run()
    assert isinstance(res, Failed)
    assert "does not fit this network" in res.reason and "dense_1 (Dense)" in res.reason
    # Same ids but one kernel of the wrong shape: named precisely.
    net = proj.network
    d1 = net.nodes_of_type("Dense")[0].id
    bad = {nid: dict(p) for nid, p in params.items()}
    bad[d1]["kernel"] = np.zeros((2, 7), np.float32)
    with pytest.raises(WeightsError, match=r"dense_1 \(Dense\) kernel: saved 2×7, network needs 2×4"):
        check_compatible(
            bad,
            types,
            {nid: {k: v.shape for k, v in p.items()} for nid, p in params.items()},
            types,
            {n.id: n.name for n in net.nodes.values()},
            "the saved weights",
        )


def test_bad_weights_files_name_the_file(xor_run, tmp_path):
    _, session, _, _ = xor_run
    good = tmp_path / "good.msgpack"
    session.save_weights(good)
    raw = good.read_bytes()
    cases = {
        "truncated.msgpack": raw[: len(raw) // 2],
        "empty.msgpack": b"",
        "garbage.msgpack": bytes(range(256)) * 4,
        "text.msgpack": b'{"format": "nnviz-weights"}',
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    from flax import serialization

    (tmp_path / "other.msgpack").write_bytes(serialization.msgpack_serialize({"a": np.zeros(3)}))
    (tmp_path / "newer.msgpack").write_bytes(
        serialization.msgpack_serialize(
            {"format": "nnviz-weights", "format_version": 99, "params": {}, "types": {}}
        )
    )
    for name in [*cases, "other.msgpack", "newer.msgpack", "missing.msgpack"]:
        path = tmp_path / name
        with pytest.raises(WeightsError) as info:
            load_weights(path)
        assert str(path) in str(info.value), name
    with pytest.raises(WeightsError, match="newer"):
        load_weights(tmp_path / "newer.msgpack")


def test_save_weights_refuses_before_training():
    with pytest.raises(RuntimeError):
        TrainingSession(project()).save_weights("/nonexistent/never.msgpack")


def test_save_weights_is_atomic(xor_run, tmp_path):
    _, session, _, _ = xor_run
    path = tmp_path / "w.msgpack"
    path.write_bytes(b"old contents")
    with pytest.raises(Exception):
        save_weights(path, {"x": {"kernel": object()}}, {"x": "Dense"})
    assert path.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["w.msgpack"]  # no temporary left behind


# ---------------------------------------------------------------- determinism, settings


def test_same_seed_same_run_whatever_the_chunking_and_validation_metrics():
    """Chunk length is picked by timing, so results must not depend on it."""
    proj = project(validation_split=0.2, epochs=2)
    # eval_batch=20: one eval batch shape for val and test, so one compile.
    s1, r1, m1 = run(proj, eval_batch=20)  # single steps only
    s2, r2, m2 = run(proj, eval_batch=20, max_chunk=8, chunk_seconds=10.0)  # 1, 2, 4, then chunks of 8
    s3, r3, m3 = run(proj, eval_batch=20, max_chunk=7, chunk_seconds=10.0)  # 1, 2, 4, 7 and odd tails
    assert s1.chunk_steps == 1 and s2.chunk_steps == 8 and s3.chunk_steps == 7
    for s, r, m in ((s2, r2, m2), (s3, r3, m3)):
        assert [e.train_loss for e in of(m1, EpochEnd)] == [e.train_loss for e in of(m, EpochEnd)]
        assert r1.metrics["test_loss"] == r.metrics["test_loss"]
        assert r1.metrics["val_loss"] == r.metrics["val_loss"]
        for nid in s1.final_params:
            np.testing.assert_array_equal(s1.final_params[nid]["kernel"], s.final_params[nid]["kernel"])
        # one compiled loop takes every length: no chunk length is compiled on its own
        assert [c.what for c in of(m, Compiling)] == [c.what for c in of(m1, Compiling)]
    # The validation split is evaluated at every epoch end and in the final metrics.
    epochs = of(m1, EpochEnd)
    assert len(epochs) == 2
    assert all(math.isfinite(e.val_loss) and 0 <= e.val_accuracy <= 1 for e in epochs)
    assert math.isfinite(r1.metrics["val_loss"])
    # 100 training points, 20 of them held out: 80 left, 8 steps per epoch.
    assert r1.step == 16


def test_every_chunk_is_shown_while_the_next_one_trains():
    """The next chunk starts before a chunk's snapshot is made: each snapshot still shows
    the chunk it follows, no chunk goes unshown, and the steps are those of a plain run."""
    proj = project(epochs=2)  # 10 steps an epoch: calls of 1, 1, 2, 4, 2 (the tail), then 8, 2
    session, result, msgs = run(proj, max_chunk=8, chunk_seconds=10.0, snapshot_interval=0.0)
    assert isinstance(result, Finished) and result.step == 20
    steps = [m.step for m in of(msgs, Snapshot)]
    assert steps == [0, 1, 2, 4, 8, 10, 10, 18, 20, 20]  # each chunk's, and each epoch end's
    plain, _, _ = run(proj)  # one step a call, nothing started ahead
    for nid, p in plain.final_params.items():
        for k, v in p.items():
            np.testing.assert_array_equal(session.final_params[nid][k], v)


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_every_optimizer_trains_and_max_steps_is_honoured(optimizer):
    lr = 3 * OPTIMIZERS[optimizer].race_learning_rate  # a few times the race's careful step
    proj = project(dataset="gauss", optimizer=optimizer, learning_rate=lr, epochs=50, max_steps=30)
    session, result, msgs = run(proj)
    assert isinstance(result, Finished) and result.reason == "completed", result
    assert result.step == 30 and of(msgs, Progress)[-1].step == 30
    first, last = of(msgs, Snapshot)[0], of(msgs, Snapshot)[-1]
    assert last.loss < first.loss * 0.8, (optimizer, first.loss, last.loss)
    assert result.metrics["test_accuracy"] > 0.8


def test_l1_and_l2_regularisation_shrink_weights():
    base = project(
        dataset="circle", optimizer="sgd", learning_rate=0.1, epochs=3, net=mlp(hidden=16, activation="relu")
    )
    l1_norm, l2_norm = {}, {}
    for name, kw in {"none": {}, "l2": {"l2": 0.1}, "l1": {"l1": 0.1}}.items():
        session, result, _ = run(base.with_training(**kw))
        assert isinstance(result, Finished), result
        k = np.concatenate([p["kernel"].ravel() for p in session.final_params.values()])
        l1_norm[name], l2_norm[name] = float(np.abs(k).sum()), float(np.sqrt((k * k).sum()))
    assert l2_norm["l2"] < 0.8 * l2_norm["none"], l2_norm
    assert l1_norm["l1"] < 0.8 * l1_norm["none"], l1_norm


def test_invalid_network_fails_with_node_names():
    net = Network.chain("Input", ("Dense", {"units": 3}), "Output")  # 3 outputs for 2 classes
    net.add_node("Dense", {"units": 4})  # unconnected
    session, result, msgs = run(project(net))
    assert isinstance(result, Failed)
    assert "output_1 (Output)" in result.reason and "dense_2 (Dense)" in result.reason
    assert not of(msgs, Progress) and session.final_params is None


def test_invalid_training_settings_fail():
    _, result, _ = run(project().with_training(batch_size=0))
    assert isinstance(result, Failed) and "batch size" in result.reason


def test_missing_dataset_files_fail_clearly(tmp_path):
    proj = Project(
        Network.chain("Input", "Flatten", ("Dense", {"units": 10, "activation": "softmax"}), "Output"),
        DatasetSpec("mnist"),
        TrainingConfig(),
    )
    _, result, msgs = run(proj, data_dir=str(tmp_path), download=False)
    assert isinstance(result, Failed)
    assert "MNIST" in result.reason and str(tmp_path) in result.reason
    assert "Downloading is turned off" in result.reason
    assert "Traceback" not in result.reason


def test_synthetic_dataset_object_and_single_sigmoid_unit():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int32)
    ds = Dataset("synthetic", x[:200], y[:200], x[:0], y[:0], x[200:], y[200:], ("no", "yes"), "table")
    net = Network.chain("Input", ("Dense", {"units": 1, "activation": "sigmoid"}), "Output")
    session, result, msgs = run(project(net, optimizer="adam", learning_rate=0.1, epochs=4), dataset=ds)
    assert isinstance(result, Finished), result
    assert result.metrics["test_accuracy"] > 0.9
    assert of(msgs, Snapshot)[-1].probabilities.shape == (32, 2)
    assert not any(type(m).__name__ == "Loading" for m in msgs)  # the given dataset is used


# ---------------------------------------------------------------- divergence


def test_divergence_fails_and_keeps_finite_weights(tmp_path):
    net = mlp(hidden=8, activation="relu", out_act="linear", loss="mse")
    proj = project(net, dataset="circle", optimizer="sgd", learning_rate=100.0, epochs=5)
    session, result, msgs = run(proj, snapshot_interval=0.0)
    assert isinstance(result, Failed), result
    assert "diverged" in result.reason and "learning rate (100)" in result.reason
    assert "weights from step" in result.reason
    kept_step = int(result.reason.split("weights from step ")[1].split()[0])
    params = session.final_params
    assert params is not None
    assert all(np.all(np.isfinite(v)) for p in params.values() for v in p.values())
    # The kept weights are those of that step, and their loss was finite.
    snap = next(s for s in of(msgs, Snapshot) if s.step == kept_step)
    assert math.isfinite(snap.loss)
    for nid, p in params.items():
        np.testing.assert_array_equal(p["kernel"], snap.params[nid]["kernel"])
    assert not of(msgs, Finished)
    assert result.step == kept_step  # what save_weights records with them
    session.save_weights(tmp_path / "w.msgpack")
    saved, _, step = load_weights(tmp_path / "w.msgpack")
    assert step == kept_step
    for nid, p in params.items():
        np.testing.assert_array_equal(saved[nid]["kernel"], p["kernel"])


def test_divergence_inside_a_chunk_keeps_finite_weights():
    net = mlp(hidden=8, activation="relu", out_act="linear", loss="mse")
    proj = project(net, dataset="circle", optimizer="sgd", learning_rate=100.0, epochs=5)
    session, result, _ = run(proj, max_chunk=8, chunk_seconds=10.0, snapshot_interval=0.0, path_points=64)
    assert isinstance(result, Failed) and "diverged" in result.reason
    assert all(np.all(np.isfinite(v)) for p in session.final_params.values() for v in p.values())
    # the recorded path (for the loss surface) keeps only weights that were finite
    path = session.trajectory
    assert path is not None and len(path) >= 1 and np.isfinite(path.thetas).all()
    assert path.steps[0] == 0 and path.steps[-1] <= session.result.step + 8


def test_divergence_watch_flags_nan_inf_and_lasting_growth_but_not_one_noisy_batch():
    from nnviz.engine.divergence import DivergenceWatch

    w = DivergenceWatch("start", factor=100.0, window=4)
    assert (
        w.observe(np.array([np.nan]), "chunk 1") == 0 and w.good == "start"
    )  # the first loss: keep the start
    w = DivergenceWatch(factor=100.0, window=4)
    assert w.observe(np.array([1.0, 0.9, 0.8])) is None and w.start == 1.0
    assert w.observe(np.array([0.7, 500.0, 0.6, 0.5])) is None  # one noisy batch
    assert w.observe(np.array([0.5, 200.0, 300.0])) is None  # high, but not 4 in a row yet
    assert w.observe(np.array([400.0, 500.0, 0.4]), "chunk 4") == 0  # the run of highs began in chunk 3
    assert w.good is None  # chunk 3's start was fine, but observed with no state
    w = DivergenceWatch(factor=100.0, window=4)
    assert w.observe(np.array([2.0, 1.0]), "chunk 1") is None
    assert w.observe(np.array([300.0, 400.0, 500.0, 600.0]), "chunk 2") == 0 and w.good == "chunk 1"
    w = DivergenceWatch(factor=100.0, window=4)
    assert w.observe(np.array([1.0, np.inf]), "chunk 1") == 1 and w.good == "chunk 1"
    w = DivergenceWatch(factor=100.0, window=4)
    assert w.observe(np.array([2.0, 1.0, 300.0, 400.0, 500.0, 600.0])) == 2
    assert DivergenceWatch().observe(np.array([1.0, np.nan])) == 1
    assert DivergenceWatch().observe(np.array([np.inf])) == 0
    near_zero = DivergenceWatch(factor=100.0, window=2)  # a start loss near 0 is floored
    assert near_zero.observe(np.array([1e-9, 0.01, 0.02, 0.05])) is None


def test_a_loss_that_grows_without_becoming_nan_stops_the_run(monkeypatch):
    """At learning rate 100 a tanh/softmax net's loss grows ~100-fold yet stays finite: it "completed"."""
    from nnviz.engine import divergence

    proj = project(mlp(hidden=8, activation="tanh"), dataset="spiral", optimizer="sgd", learning_rate=100.0)
    _, result, _ = run(proj)
    assert isinstance(result, Finished)  # 100-fold is below the real factor (1e4)
    monkeypatch.setattr(divergence, "GROWTH_FACTOR", 20.0)  # so a 100-fold growth counts
    session, result, msgs = run(proj)
    assert isinstance(result, Failed), result
    assert "The loss grew from " in result.reason and "more than 20 times" in result.reason
    assert "learning rate (100) is too high" in result.reason and "e.g. 10" in result.reason
    kept_step = int(result.reason.split("weights from step ")[1].split()[0])
    assert result.step == kept_step and not of(msgs, Finished)
    snap = next(s for s in of(msgs, Snapshot) if s.step == kept_step)
    assert snap.loss <= 20 * float(result.reason.split("grew from ")[1].split()[0])  # kept: not grown yet
    for nid, p in session.final_params.items():
        np.testing.assert_array_equal(p["kernel"], snap.params[nid]["kernel"])


def test_l1_and_l2_on_a_network_without_weights_add_nothing():
    net = Network.chain(
        "Input", ("Activation", {"function": "softmax"}), ("Output", {"loss": "cross_entropy"})
    )
    plain = run(project(net, epochs=1))[1]
    for kw in ({"l1": 0.1}, {"l2": 0.1}):
        result = run(project(net, epochs=1, **kw))[1]
        assert isinstance(result, Finished), result  # was: KeyError 'layers' in the loss
        assert result.metrics["train_loss"] == plain.metrics["train_loss"]


# ---------------------------------------------------------------- threaded mode


def test_threaded_pause_step_learning_rate_resume_stop():
    proj = project(dataset="circle", epochs=1000, learning_rate=0.01)
    msgs: list = []
    session = TrainingSession(
        proj,
        SessionOptions(snapshot_interval=0.05, progress_interval=0.02, max_chunk=1),
        on_message=msgs.append,
    )
    session.start(paused=True)
    try:
        with pytest.raises(RuntimeError):
            session.start()
        wait_for(msgs, lambda m: isinstance(m, StateChanged) and m.state == "paused")
        wait_for(msgs, lambda m: isinstance(m, Snapshot) and m.step == 0)
        assert session.running and not of(msgs, Progress)

        session.step(1)
        p1 = wait_for(msgs, lambda m: isinstance(m, Progress))
        s1 = wait_for(msgs, lambda m: isinstance(m, Snapshot) and m.step > 0)
        assert p1.step == 1 and s1.step == 1 and s1.grad_norms
        wait_until_waiting(session, paused=True)
        assert max(p.step for p in of(msgs, Progress)) == 1  # exactly one step, then waits

        session.set_learning_rate(0.123)
        session.step(2)
        wait_for(msgs, lambda m: isinstance(m, Progress) and m.step == 3)  # after step 3's snapshot
        p3 = [p for p in of(msgs, Progress) if p.step > 1]
        assert [p.step for p in p3] == [2, 3]
        assert all(p.learning_rate == pytest.approx(0.123) for p in p3)
        assert of(msgs, Snapshot)[-1].learning_rate == pytest.approx(0.123)

        session.resume()
        wait_for(msgs, lambda m: isinstance(m, StateChanged) and m.state == "running")
        wait_for(msgs, lambda m: isinstance(m, Progress) and m.step > 20)
        session.set_learning_rate(0.0456)
        wait_for(msgs, lambda m: isinstance(m, Progress) and m.learning_rate == pytest.approx(0.0456))
        # The queues a GUI would poll see the same messages.
        assert any(isinstance(e, Progress) for e in session.drain_events())
        assert isinstance(session.take_snapshot(), Snapshot)

        # "One step" only means something while paused: pressed while running (commands
        # are read in order, so it is read before the pause), it must not make the pause
        # run steps on its own: the paused session waits, at the step it reported.
        session.step(10**6)
        reached = pause_and_settle(session, msgs)
        assert max(p.step for p in of(msgs, Progress)) == reached
    finally:
        session.stop()
        assert session.join(10)
    result = session.result
    assert isinstance(result, Finished) and result.reason == "stopped", result
    assert result.step == reached  # nothing trained between the pause and the stop
    assert msgs[-1] is result
    assert result.step > 20 and session.final_params is not None
    assert math.isfinite(result.metrics["test_loss"])


# ---------------------------------------------------------------- other shapes of network


def test_tiny_cnn_trains_and_snapshots_nhwc():
    rng = np.random.default_rng(0)
    x = rng.random((80, 8, 8, 1)).astype(np.float32)
    y = (x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype(np.int32)
    ds = Dataset("tiny-images", x[:60], y[:60], x[:0], y[:0], x[60:], y[60:], ("top", "bottom"), "image")
    net = Network.chain(
        "Input",
        ("Conv2D", {"filters": 2}),
        "MaxPool2D",
        "Flatten",
        ("Dropout", {"rate": 0.2}),
        ("Dense", {"units": 2, "activation": "softmax"}),
        "Output",
    )
    session, result, msgs = run(project(net, epochs=1, max_steps=4), dataset=ds, probe_size=4)
    assert isinstance(result, Finished) and result.step == 4, result
    snap = of(msgs, Snapshot)[-1]
    by_type = {net.nodes[nid].type: a.shape for nid, a in snap.activations.items()}
    assert by_type == {
        "Input": (4, 8, 8, 1),
        "Conv2D": (4, 8, 8, 2),
        "MaxPool2D": (4, 4, 4, 2),
        "Flatten": (4, 32),
        "Dropout": (4, 32),
        "Dense": (4, 2),
        "Output": (4, 2),
    }
    conv = net.nodes_of_type("Conv2D")[0].id
    assert snap.params[conv]["kernel"].shape == (3, 3, 1, 2)
    assert set(snap.grad_norms) == {conv, net.nodes_of_type("Dense")[0].id}
    assert session.node_types[conv] == "Conv2D"


def test_network_without_weights_runs(tmp_path):
    """Input -> Output on a 2-class toy set is valid; nothing learns, but nothing crashes."""
    net = Network.chain("Input", ("Activation", {"function": "tanh"}), "Output")
    session, result, msgs = run(project(net, epochs=1))
    assert isinstance(result, Finished) and result.reason == "completed", result
    assert result.metrics["params"] == 0 and session.final_params == {}
    assert of(msgs, Snapshot)[-1].params == {}
    path = tmp_path / "none.msgpack"
    session.save_weights(path)
    params, types, _ = load_weights(path)
    again = TrainingSession(
        project(net, epochs=1), SessionOptions(max_chunk=1), initial_params=(params, types)
    ).run()
    assert isinstance(again, Finished), again


@pytest.mark.parametrize("bad", [0.0, -0.1, math.nan, math.inf, 1000.0])
def test_set_learning_rate_refuses_impossible_values(bad):
    session = TrainingSession(load_preset("xor-one-hidden"))
    with pytest.raises(ValueError, match="learning rate"):
        session.set_learning_rate(bad)
    assert session._commands.empty()


def test_explicit_epochs_replace_a_step_limit():
    project = load_preset("mnist-mlp-sgd")
    assert project.training.max_steps == 1000
    session = TrainingSession(project, SessionOptions(epochs=1))
    assert session.config.epochs == 1 and session.config.max_steps == 0


def test_2d_snapshots_carry_the_decision_plane():
    project = load_preset("xor-one-hidden").with_training(epochs=1)
    snaps = []
    session = TrainingSession(
        project,
        SessionOptions(plane_resolution=16),
        on_message=lambda m: snaps.append(m) if isinstance(m, Snapshot) else None,
    )
    session.run()
    plane = snaps[-1].plane
    assert plane is not None and plane.probabilities.shape == (16, 16, 2)
    np.testing.assert_allclose(plane.probabilities.sum(-1), 1.0, rtol=1e-5)
    dense = [n.id for n in project.network.nodes_of_type("Dense")]
    assert plane.nodes[dense[0]].shape == (16, 16, 4)
    assert plane.xs[0] < snaps[-1].probe_x[:, 0].min() and plane.ys[-1] > snaps[-1].probe_x[:, 1].max()
