"""Slow motion: at most N training steps per frame, live speed changes, and the same weights as full speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

from nnviz.core.datasets import DatasetSpec
from nnviz.core.graph import Network
from nnviz.core.project import Project, TrainingConfig
from nnviz.engine.messages import EpochEnd, Finished, Progress, Snapshot
from nnviz.engine.options import SessionOptions
from nnviz.engine.session import TrainingSession

from .test_session import pause_and_settle, wait_for, wait_until_waiting


def project(epochs=2, n_samples=500, **training):
    net = Network.chain(
        "Input",
        ("Dense", {"units": 8, "activation": "tanh"}),
        ("Dense", {"units": 2, "activation": "softmax"}),
        "Output",
    )
    return Project(
        net,
        DatasetSpec("circle", n_samples=n_samples),
        TrainingConfig(epochs=epochs, batch_size=10, learning_rate=0.03, **training),
        name="speed",
    )


def of(msgs, cls):
    return [m for m in list(msgs) if isinstance(m, cls)]


def snapshot_gaps(msgs, after=0):
    steps = [s.step for s in of(msgs, Snapshot) if s.step >= after]
    return np.diff(steps)


def test_slow_motion_limits_steps_per_frame_and_gives_the_same_weights():
    proj = project(epochs=2)  # 250 training points: 25 steps per epoch, 50 in all
    runs = {}
    for speed in (None, 3, 1):
        msgs: list = []
        # chunks of up to 8 at full speed (and 25 = 8 + 8 + 8 + 1 per epoch): slow
        # motion must give the same weights through its shorter calls.
        session = TrainingSession(
            proj, SessionOptions(max_chunk=8, chunk_seconds=10.0, frame_seconds=0.004), on_message=msgs.append
        )
        session.set_speed(speed)
        assert session.speed == speed
        t0 = time.perf_counter()
        result = session.run()
        runs[speed] = (session, result, msgs, time.perf_counter() - t0)
        assert isinstance(result, Finished) and result.step == 50, result
    full = runs[None][0]
    assert full.chunk_steps == 8
    for speed in (3, 1):
        session, result, msgs, seconds = runs[speed]
        for nid, p in full.final_params.items():
            for k, v in p.items():
                np.testing.assert_array_equal(session.final_params[nid][k], v)  # bit-identical
        assert [e.train_loss for e in of(msgs, EpochEnd)] == [
            e.train_loss for e in of(runs[None][2], EpochEnd)
        ]
        gaps = snapshot_gaps(msgs)
        assert gaps.max() <= speed and gaps.min() >= 1  # never more than N steps between pictures
        assert np.sum(gaps == speed) >= 40 // speed  # and mostly exactly N
        # A Progress after every frame: its steps follow the snapshots'.
        progress = [p.step for p in of(msgs, Progress)]
        assert np.diff(progress).max() <= speed and progress[-1] == 50
        assert seconds >= (50 / speed) * 0.004  # every frame waited out
    # Full speed sends far fewer pictures than slow motion at one step per frame.
    assert len(of(runs[None][2], Snapshot)) < len(of(runs[1][2], Snapshot)) / 5


def test_frames_take_their_time():
    proj = project(epochs=1, n_samples=160)  # 80 training points, 8 steps
    session = TrainingSession(proj, SessionOptions(max_chunk=1, frame_seconds=0.1))
    session.set_speed(2)
    t0 = time.perf_counter()
    result = session.run()
    assert result.step == 8
    assert time.perf_counter() - t0 >= 0.35  # four frames of 0.1 s (the last need not be waited out)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_speed_refuses_impossible_values(bad):
    session = TrainingSession(project())
    with pytest.raises((ValueError, TypeError)):
        session.set_speed(bad)
    assert session._commands.empty() and session.speed is None


def test_live_change_from_slow_to_full_speed_and_back():
    proj = project(epochs=100000)
    msgs: list = []
    session = TrainingSession(
        proj,
        SessionOptions(
            max_chunk=8,
            chunk_seconds=10.0,
            frame_seconds=0.05,
            snapshot_interval=0.05,
            progress_interval=0.02,
        ),
        on_message=msgs.append,
    )
    session.set_speed(1)
    session.start()
    try:
        wait_for(msgs, lambda m: isinstance(m, Snapshot) and m.step >= 8)
        assert snapshot_gaps(msgs).max() == 1
        slow_reached = max(s.step for s in of(msgs, Snapshot))
        # At one step a frame every Progress is one step on from the one before. At full
        # speed the chunk grows to its cap (8) and a Progress comes after a chunk or more.
        session.set_speed(None)
        wait_for(msgs, lambda m: isinstance(m, Progress) and m.step >= slow_reached + 400)
        assert np.diff([p.step for p in of(msgs, Progress) if p.step >= slow_reached]).max() >= 8
        assert session.chunk_steps == 8
        # And back to slow motion: from the first slow frame on, two steps between pictures.
        # A chunk in flight as the speed changes still reports; once the session waits out
        # a frame, the change has been read and that frame shown.
        session.set_speed(2)
        wait_until_waiting(session)
        mark = max(s.step for s in of(msgs, Snapshot))
        wait_for(msgs, lambda m: isinstance(m, Snapshot) and m.step >= mark + 10)
        gaps = snapshot_gaps(msgs, after=mark)
        assert gaps.max() <= 2 and np.sum(gaps == 2) >= 4
    finally:
        session.stop()
        assert session.join(10)
    assert session.result.reason == "stopped"


def test_pause_step_learning_rate_and_stop_in_slow_motion():
    proj = project(epochs=100000)
    msgs: list = []
    session = TrainingSession(proj, SessionOptions(max_chunk=1, frame_seconds=0.05), on_message=msgs.append)
    session.set_speed(2)
    session.start()
    try:
        wait_for(msgs, lambda m: isinstance(m, Snapshot) and m.step >= 6)
        reached = pause_and_settle(session, msgs)  # paused means paused: it waits, at that step
        session.set_learning_rate(0.2)
        session.step(1)
        p = wait_for(msgs, lambda m: isinstance(m, Progress) and m.step == reached + 1)
        assert p.learning_rate == pytest.approx(0.2)
        wait_until_waiting(session, paused=True)
        assert max(p.step for p in of(msgs, Progress)) == reached + 1  # exactly one step
        session.resume()
        wait_for(msgs, lambda m: isinstance(m, Snapshot) and m.step >= reached + 9)
        assert snapshot_gaps(msgs, after=reached + 1).max() <= 2  # still in slow motion
    finally:
        # A stop in the middle of a frame ends it at once: see the next test, whose frame
        # is longer than join waits.
        session.stop()
        assert session.join(10)
    assert session.result.reason == "stopped" and session.result.step > reached


def test_stop_does_not_wait_for_a_long_frame():
    msgs: list = []
    session = TrainingSession(
        project(epochs=100000), SessionOptions(max_chunk=1, frame_seconds=3600.0), on_message=msgs.append
    )
    session.set_speed(1)
    session.start()
    wait_for(msgs, lambda m: isinstance(m, Snapshot) and m.step == 1)
    wait_until_waiting(session)  # now waiting out an hour-long frame
    session.stop()
    assert session.join(60)  # far less than the frame: the stop ended the wait
    assert session.result.reason == "stopped" and session.result.step == 1
