"""The one training loop (``train_steps``) and the chunk started ahead of a report.

Every run is tiny (2D toy sets, 10-25 steps an epoch). ``max_chunk=8`` (or 7, 3) with
``chunk_seconds=10`` makes the chunk lengths independent of timing: 1, 1, 2, 4, then
the cap and the epoch's tails; with ``snapshot_interval=0`` every chunk after the first
is started ahead, while the one before it is reported.
"""

from __future__ import annotations

import time

import numpy as np

from nnviz.core.datasets import load_dataset
from nnviz.engine.messages import EpochEnd, Failed, Finished, Progress, Snapshot
from nnviz.engine.options import SessionOptions
from nnviz.engine.session import TrainingSession

from .test_session import mlp, of, pause_and_settle, project, run, wait_for, wait_until_waiting
from .test_speed import project as speed_project


def same_params(a, b):
    return set(a) == set(b) and all(np.array_equal(a[nid][k], b[nid][k]) for nid in a for k in a[nid])


def plain(proj, steps):
    """The weights of a run of exactly ``steps`` single steps, nothing started ahead."""
    session, result, _ = run(proj.with_training(max_steps=steps), snapshot_interval=1e9)
    assert isinstance(result, Finished) and result.step == steps
    return session.final_params


# ---------------------------------------------------------------- max_steps, epoch ends, order of messages


def test_max_steps_inside_an_epoch_with_odd_chunks_and_messages_in_order():
    proj = project(epochs=5, max_steps=23)  # 10 steps an epoch: ends at 10, 20, and 23 (max_steps)
    s7, r7, m7 = run(proj, max_chunk=7, chunk_seconds=10.0, snapshot_interval=0.0, progress_interval=0.0)
    s1, r1, m1 = run(proj, snapshot_interval=0.0, progress_interval=0.0)
    for r, m in ((r7, m7), (r1, m1)):
        assert isinstance(r, Finished) and r.reason == "completed" and r.step == 23
        assert [e.step for e in of(m, EpochEnd)] == [10, 20, 23]
        progress = [p.step for p in of(m, Progress)]
        assert progress[-1] == 23 and progress == sorted(set(progress))
        # A Progress never runs ahead of the snapshot of its step.
        for i, msg in enumerate(m):
            if isinstance(msg, Progress):
                assert any(isinstance(x, Snapshot) and x.step == msg.step for x in m[:i]), msg.step
    assert [e.train_loss for e in of(m7, EpochEnd)] == [e.train_loss for e in of(m1, EpochEnd)]
    assert same_params(s7.final_params, s1.final_params)
    # chunks of 7 (1, 1, 2, 4, 2 | 7, 3 | 3): no chunk ran past an epoch end or max_steps
    assert [s.step for s in of(m7, Snapshot)] == [0, 1, 2, 4, 8, 10, 10, 17, 20, 20, 23, 23]


# ---------------------------------------------------------------- stop with a chunk started ahead


def test_stop_during_a_report_keeps_the_weights_of_the_step_it_reports():
    """A stop asked while chunk k is reported (chunk k+1 already started) ends after k+1:
    the Finished step and the kept weights are those of a plain run of that many steps."""
    proj = project(dataset="circle", epochs=6)  # 10 steps an epoch
    for stop_at, expected in ((1, 2), (3, 8), (13, 20)):
        msgs: list = []
        session = TrainingSession(
            proj, SessionOptions(max_chunk=8, chunk_seconds=10.0, snapshot_interval=0.0)
        )

        def on_message(m, session=session, msgs=msgs, stop_at=stop_at):
            msgs.append(m)
            if isinstance(m, Snapshot) and m.step >= stop_at:
                session.stop()

        session.on_message = on_message
        result = session.run()
        assert isinstance(result, Finished) and result.reason == "stopped", result
        assert result.step == expected  # the chunk in flight is collected, never lost or repeated
        assert of(msgs, Snapshot)[-1].step == result.step
        assert same_params(session.final_params, plain(proj, result.step))


# ---------------------------------------------------------------- divergence inside a chunk started ahead


def test_divergence_in_a_chunk_started_ahead_names_the_same_step_and_keeps_seen_weights():
    net = mlp(hidden=8, activation="relu", out_act="linear", loss="mse")
    # 20 steps an epoch; the loss first becomes infinite at step 17, in the middle of an
    # epoch, so the chunk that meets it was started ahead.
    proj = project(net, dataset="circle", optimizer="momentum", learning_rate=0.05, epochs=10, batch_size=5)
    s1, r1, m1 = run(proj, snapshot_interval=0.0)
    assert isinstance(r1, Failed) and "at step 17:" in r1.reason, r1
    shown = {s.step: s for s in of(m1, Snapshot)}
    for max_chunk, kept in ((2, 14), (3, 13), (7, 15), (8, 8)):
        s, r, m = run(proj, max_chunk=max_chunk, chunk_seconds=10.0, snapshot_interval=0.0)
        assert isinstance(r, Failed) and "at step 17:" in r.reason, (max_chunk, r)
        assert r.step == kept and f"weights from step {kept} are kept" in r.reason
        assert all(np.all(np.isfinite(v)) for p in s.final_params.values() for v in p.values())
        # the kept weights are those the single-step run had at that step
        assert same_params(s.final_params, shown[kept].params)
        assert not of(m, Finished) and max(p.step for p in of(m, Progress)) < 17


# ---------------------------------------------------------------- pause, Step, learning rate (threaded)


def started(proj, msgs: list, **kw) -> TrainingSession:
    """A session on its own thread, in chunks of up to 8 whatever the timing."""
    session = TrainingSession(
        proj, SessionOptions(max_chunk=8, chunk_seconds=10.0, **kw), on_message=msgs.append
    )
    session.start()
    return session


def test_pause_step_and_stop_with_chunks_started_ahead():
    proj = project(dataset="circle", epochs=100000, learning_rate=0.01)
    msgs: list = []
    session = started(proj, msgs, snapshot_interval=0.0, progress_interval=0.0)
    try:
        wait_for(msgs, lambda m: isinstance(m, Progress) and m.step >= 30)
        reached = pause_and_settle(session, msgs)
        assert of(msgs, Snapshot)[-1].step == reached  # every chunk is shown, the last one too
        mark = len(msgs)
        session.step(2)
        wait_for(msgs, lambda m: isinstance(m, Snapshot) and m.step == reached + 2, timeout=20)
        session.set_learning_rate(0.02)
        session.step(1)
        wait_for(msgs, lambda m: isinstance(m, Progress) and m.step == reached + 3, timeout=20)
        wait_until_waiting(session, paused=True)  # the epoch's end after that step is reported too
        after = msgs[mark:]
        assert [p.step for p in of(after, Progress)] == [reached + 1, reached + 2, reached + 3]
        # a Step that ends an epoch is shown again with the epoch's end (10 steps an epoch)
        shown = [s.step for s in of(after, Snapshot)]
        assert [k for i, k in enumerate(shown) if i == 0 or k != shown[i - 1]] == [
            reached + 1,
            reached + 2,
            reached + 3,
        ]
        assert abs(of(after, Progress)[-1].learning_rate - 0.02) < 1e-7
        assert abs(of(after, Snapshot)[-1].learning_rate - 0.02) < 1e-7
    finally:
        session.stop()
        assert session.join(10)
    result = session.result
    assert isinstance(result, Finished) and result.reason == "stopped" and result.step == reached + 3
    # Chunks, the chunk started ahead as the pause came, then single steps: the weights
    # are a plain run's, nothing lost or run twice.
    stepped = next(s for s in of(msgs, Snapshot) if s.step == reached + 2)
    assert same_params(stepped.params, plain(proj, reached + 2))


def test_a_pause_shows_the_step_it_stopped_at_between_snapshots():
    """Snapshots come at most every snapshot_interval; the chunk a pause lands after must
    still be shown, or the paused panels lag the step the status bar reports."""
    msgs: list = []
    session = started(
        project(dataset="circle", epochs=100000), msgs, snapshot_interval=1e9, progress_interval=1e9
    )
    try:
        wait_for(msgs, lambda m: isinstance(m, EpochEnd) and m.step >= 30)
        reached = pause_and_settle(session, msgs)
        assert reached >= 30 and of(msgs, Snapshot)[-1].step == reached
    finally:
        session.stop()
        assert session.join(10)


# ---------------------------------------------------------------- slow motion from the first step


def test_a_run_started_in_slow_motion_still_grows_its_chunk():
    """A speed is kept across runs (the window saves it), so a run often starts in slow
    motion. Calls of ``n == chunk`` steps are timed just the same there, yet the chunk is
    never grown while slow: at '100 steps a frame' every frame is 100 one-step calls
    (fashion-mlp-sigmoid, frames not waited out: 1,650 steps/s, below the 3,000 that 100
    steps a frame asks for; 3,500 once the chunk had grown at full speed; 2,780 before
    this change)."""
    proj = speed_project(epochs=2)  # 25 steps an epoch
    session = TrainingSession(proj, SessionOptions(max_chunk=8, chunk_seconds=10.0, frame_seconds=1e-4))
    session.set_speed(8)
    result = session.run()
    assert isinstance(result, Finished) and result.step == 50
    assert session.chunk_steps == 8, session.chunk_steps


# ---------------------------------------------------------------- the optimizer race past CHUNK_CAP


def test_race_past_one_call_trains_what_the_session_trains():
    """``race`` cuts a point's steps into calls of at most CHUNK_CAP (256): 300 steps a
    point are 256 + 44; the path's weights are the session's, bit for bit."""
    from jax.flatten_util import ravel_pytree

    from nnviz.core.presets import load_preset
    from nnviz.engine.surface import race

    proj = load_preset("xor-one-hidden")
    proj.dataset = type(proj.dataset)(**{**proj.dataset.to_dict(), "n_samples": 200})
    proj = proj.with_training(epochs=100)
    ds = load_dataset(proj.dataset)
    result = race(
        proj, ds, optimizers=(proj.training.optimizer,), steps=600, points=2, samples=40, resolution=3
    )
    traj = result.trajectories[proj.training.optimizer]
    assert list(traj.steps) == [0, 300, 600]
    for i, steps in ((1, 300), (2, 600)):
        session = TrainingSession(
            proj.with_training(max_steps=steps), SessionOptions(snapshot_interval=1e9), dataset=ds
        )
        assert isinstance(session.run(), Finished)
        theta = np.asarray(ravel_pytree({"layers": session.final_params})[0], np.float32)
        np.testing.assert_array_equal(traj.thetas[i], theta)


# ---------------------------------------------------------------- chunk timing with a chunk started ahead


def test_a_costly_snapshot_does_not_shrink_the_chunk_to_one_step():
    """A chunk started ahead is timed from its dispatch to its collection, which now takes
    in the previous chunk's snapshot: its probes (queued before it on the device), the
    fetch, the Snapshot's making and the listener. Once one snapshot costs more than
    ``chunk_seconds``, every call looks too long, the chunk falls to one step and stays
    there (each step then pays a whole snapshot). Here a listener that spends 60 ms on a
    picture stands for the cost (a large 2D network's plane probe, a busy GIL): with the
    call timed alone the chunk reaches 8 steps of well under 40 ms."""
    proj = project(dataset="circle", n_samples=2000, epochs=1, max_steps=40)  # 100 steps an epoch
    session = TrainingSession(proj, SessionOptions(max_chunk=8, chunk_seconds=0.04, snapshot_interval=0.0))

    def on_message(m):
        if isinstance(m, Snapshot) and m.step > 0:
            time.sleep(0.06)

    session.on_message = on_message
    result = session.run()
    assert isinstance(result, Finished) and result.step == 40
    assert session.chunk_steps >= 4, session.chunk_steps
