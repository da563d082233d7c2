"""Runs continue: a run stopped at step k and resumed to step n ends with exactly the weights
of one run that went to n without stopping, in a thread and in the engine process."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnviz.core.graph import Network
from nnviz.engine.messages import EpochEnd, Failed, Finished, Progress, Snapshot, StateChanged
from nnviz.engine.options import SessionOptions
from nnviz.engine.process import ProcessSession
from nnviz.engine.session import TrainingSession
from nnviz.engine.weights import RunState, load_run_state, save_run_state, training_fingerprint

from .test_session import mlp, of, project, wait_for

CHUNKY = {"max_chunk": 4, "chunk_seconds": 10.0}  # calls of 1, 2, 4, 4, ...: chunks > 1 and tails


def dropout_net():
    return Network.chain(
        "Input",
        ("Dense", {"units": 8, "activation": "relu"}),
        ("Dropout", {"rate": 0.3}),
        ("Dense", {"units": 2, "activation": "softmax"}),
        ("Output", {"loss": "cross_entropy"}),
    )


def train(proj, resume=None, **options):
    msgs: list = []
    session = TrainingSession(
        proj, SessionOptions(**{**CHUNKY, **options}), resume=resume, on_message=msgs.append
    )
    result = session.run()
    return session, result, msgs


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for nid, layer in a.items():
        assert layer.keys() == b[nid].keys()
        for k, v in layer.items():
            assert np.array_equal(v, b[nid][k]), f"{nid}.{k} differs"


def assert_same_state(a: RunState, b: RunState) -> None:
    assert_same_weights(a.params, b.params)
    assert (a.step, a.epoch, a.position) == (b.step, b.epoch, b.position)
    assert len(a.opt_leaves) == len(b.opt_leaves) > 0
    for x, y in zip(a.opt_leaves, b.opt_leaves):
        assert x.dtype == y.dtype and np.array_equal(x, y)


@pytest.mark.parametrize("net", [mlp, dropout_net], ids=["mlp", "dropout"])
@pytest.mark.parametrize("k", [10, 13], ids=["epoch-boundary", "mid-epoch"])
def test_a_run_resumed_at_k_ends_with_the_weights_of_one_never_stopped(net, k):
    base = project(net(), epochs=3)  # 100 training points, batches of 10: 10 steps an epoch
    whole, whole_result, _ = train(base)
    assert whole_result.step == 30
    first, first_result, _ = train(base.with_training(max_steps=k))
    state = first.run_state
    assert state.step == k and (state.epoch, state.position) == divmod(k, 10)
    assert state.fingerprint == training_fingerprint(base)
    rest, rest_result, msgs = train(base, resume=state)
    assert isinstance(rest_result, Finished) and rest_result.reason == "completed"
    assert rest_result.step == 30
    assert_same_weights(rest.final_params, whole.final_params)
    assert_same_state(rest.run_state, whole.run_state)
    # The step counter and the history go on: epochs 1..3 once each, as in the whole run.
    assert [p.step for p in of(msgs, Progress)][0] > k
    assert [e.epoch for e in rest.history] == [e.epoch for e in whole.history] == [1, 2, 3]
    assert [e.step for e in rest.history] == [10, 20, 30]
    assert rest.history[-1].test_loss == whole.history[-1].test_loss
    assert rest_result.metrics["test_loss"] == whole_result.metrics["test_loss"]


def test_stop_then_train_again_continues_bit_identically():
    """A real Stop (paused, k single steps, stop) keeps the weights and optimizer state it had."""
    base = project(dropout_net(), epochs=2)
    whole, _, _ = train(base)
    msgs: list = []
    session = TrainingSession(base, SessionOptions(**CHUNKY), on_message=msgs.append)
    session.start(paused=True)
    session.step(7)
    wait_for(msgs, lambda m: isinstance(m, Progress) and m.step == 7)
    session.stop()
    assert session.join(60)
    assert isinstance(session.result, Finished) and session.result.reason == "stopped"
    assert session.run_state.step == 7
    rest, result, _ = train(base, resume=session.run_state)
    assert result.step == 20
    assert_same_weights(rest.final_params, whole.final_params)


def test_stop_while_running_keeps_the_steps_it_took():
    """Stopped while chunks run (one may be started ahead): whatever step it stopped at, going on from there ends as one run."""
    base = project(dropout_net(), epochs=3)
    whole, _, _ = train(base)
    msgs: list = []
    session = TrainingSession(base, SessionOptions(**CHUNKY), on_message=msgs.append)
    session.start()
    wait_for(msgs, lambda m: isinstance(m, Progress) and m.step >= 3)
    session.stop()
    assert session.join(60)
    stopped_at = session.result.step
    assert session.run_state.step == stopped_at
    if stopped_at < 30:
        assert session.result.reason == "stopped"
    rest, result, _ = train(base, resume=session.run_state)
    assert result.step == 30
    assert_same_state(rest.run_state, whole.run_state)


def test_stop_while_running_in_the_engine_process_then_go_on():
    base = project(dropout_net(), epochs=3)
    whole, _, _ = train(base)
    seen: list = []
    first = ProcessSession(base, SessionOptions(**CHUNKY), on_message=seen.append)
    first.start()
    assert wait_for(seen, lambda m: isinstance(m, Progress) and m.step >= 3)
    first.stop()
    assert first.join(120) and first.run_state is not None
    assert first.run_state.step == first.result.step
    rest = ProcessSession(base, SessionOptions(**CHUNKY), resume=first.run_state)
    rest.start()
    assert rest.join(120) and rest.result.step == 30
    assert_same_state(rest.run_state, whole.run_state)


def test_stopping_twice_and_the_file_between_change_nothing(tmp_path):
    """Resume from the disk twice, at chunk sizes that cut the run elsewhere each time."""
    base = project(epochs=3, optimizer="rmsprop")
    whole, _, _ = train(base, max_chunk=1)
    a, _, _ = train(base.with_training(max_steps=4), max_chunk=3)
    path = save_run_state(tmp_path / "a.weights.msgpack", a.run_state)
    b, _, _ = train(base.with_training(max_steps=17), resume=load_run_state(path), max_chunk=5)
    save_run_state(path, b.run_state)
    c, result, _ = train(base, resume=load_run_state(path), max_chunk=8)
    assert result.step == 30
    assert_same_state(c.run_state, whole.run_state)


def test_a_reached_target_trains_nothing_and_shows_the_resumed_weights():
    base = project(epochs=2)
    done, result, _ = train(base)
    again, again_result, msgs = train(base, resume=done.run_state)
    assert isinstance(again_result, Finished) and again_result.reason == "completed"
    assert again_result.step == result.step == 20
    assert of(msgs, Progress) == [] and of(msgs, EpochEnd) == []
    (snap,) = of(msgs, Snapshot)
    assert snap.step == 20
    assert_same_weights(snap.params, done.final_params)
    assert again_result.metrics["test_loss"] == result.metrics["test_loss"]
    assert [e.epoch for e in again.history] == [1, 2]  # the curves come back with it
    assert_same_state(again.run_state, done.run_state)
    # "Train 2 more epochs": the project's epochs are the total
    more, more_result, _ = train(base.with_training(epochs=4), resume=done.run_state)
    straight, _, _ = train(base.with_training(epochs=4))
    assert more_result.step == 40
    assert_same_weights(more.final_params, straight.final_params)


def test_the_learning_rate_may_change_but_not_what_the_step_depends_on():
    base = project(epochs=1)
    done, _, _ = train(base)
    faster = base.with_training(epochs=2, learning_rate=0.1)
    assert training_fingerprint(faster) == training_fingerprint(base)
    _, result, msgs = train(faster, resume=done.run_state)
    assert isinstance(result, Finished) and result.step == 20
    assert of(msgs, Progress)[-1].learning_rate == pytest.approx(0.1)
    for other in (
        base.with_training(batch_size=20),
        base.with_training(seed=3),
        base.with_training(optimizer="sgd"),
        base.with_training(l2=0.01),
        project(mlp(hidden=5), epochs=1),
        project(epochs=1, n_samples=300),
    ):
        assert training_fingerprint(other) != training_fingerprint(base)
        session, result, _ = train(other, resume=done.run_state)
        assert isinstance(result, Failed), other
        assert "cannot continue" in result.reason and "Reset" in result.reason
        assert session.run_state is done.run_state  # nothing lost: what it was given is still there


def test_a_weights_only_state_does_not_resume():
    base = project(epochs=1)
    done, _, _ = train(base)
    bare = RunState(params=done.final_params, node_types=done.node_types, step=10)
    _, result, _ = train(base, resume=bare)
    assert isinstance(result, Failed) and "weights only" in result.reason


@pytest.mark.parametrize("max_chunk", [1, 4])
def test_after_divergence_the_state_is_the_last_good_one(max_chunk):
    net = mlp(hidden=8, activation="relu", out_act="linear", loss="mse")
    base = project(net, dataset="circle", optimizer="sgd", learning_rate=100.0, epochs=5)
    session, result, _ = train(base, max_chunk=max_chunk)
    assert isinstance(result, Failed) and "diverged" in result.reason
    state = session.run_state
    assert state is not None and state.step == result.step
    assert_same_weights(state.params, session.final_params)
    # the weights and optimizer state of that step, as a run that stopped there has them
    if state.step:
        upto, _, _ = train(base.with_training(max_steps=state.step), max_chunk=1)
        assert_same_state(state, upto.run_state)


@pytest.mark.parametrize("net", [mlp, dropout_net], ids=["mlp", "dropout"])
def test_resume_in_the_engine_process(net):
    base = project(net(), epochs=2)
    whole, _, _ = train(base)
    first = ProcessSession(base.with_training(max_steps=13), SessionOptions(**CHUNKY))
    first.start()
    assert first.join(120)
    assert isinstance(first.result, Finished) and first.run_state.step == 13
    events: list = []
    rest = ProcessSession(base, SessionOptions(**CHUNKY), resume=first.run_state, on_message=events.append)
    rest.start()
    assert rest.join(120)
    assert isinstance(rest.result, Finished) and rest.result.step == 20
    assert_same_weights(rest.final_params, whole.final_params)
    assert_same_state(rest.run_state, whole.run_state)
    assert [e.epoch for e in rest.history] == [e.epoch for e in whole.history] == [1, 2]
    assert any(isinstance(e, StateChanged) for e in events)
    assert math.isfinite(rest.result.metrics["test_loss"])


def test_resume_and_initial_params_do_not_mix():
    base = project()
    state = RunState(params={}, node_types={})
    with pytest.raises(TypeError):
        TrainingSession(base, resume=state, initial_params=({}, {}))
    with pytest.raises(TypeError):
        TrainingSession(base, resume=({}, {}))
    # the state it resumes is resume_state: resume() still resumes a paused run
    for session in (TrainingSession(base, resume=state), ProcessSession(base, resume=state)):
        assert session.resume_state is session.run_state is state and callable(session.resume)


def test_weights_saved_by_nnviz_train_continue_a_run(tmp_path, capsys):
    from nnviz.cli import main

    base = project(epochs=1)
    path = base.save(tmp_path / "p.json")
    weights = tmp_path / "p.weights.msgpack"
    assert main(["train", str(path), "--save-weights", str(weights), "--json"]) == 0
    capsys.readouterr()
    state = load_run_state(weights)
    assert (state.step, state.epoch, state.position) == (10, 1, 0) and len(state.history) == 1
    saved = type(base).load(path)
    assert state.fingerprint == training_fingerprint(saved)
    more, result, _ = train(saved.with_training(epochs=2), resume=state)
    straight, _, _ = train(saved.with_training(epochs=2))
    assert result.step == 20
    assert_same_weights(more.final_params, straight.final_params)
