"""The engine process: a run trained there is the run a thread trains, controlled the same way,
and a process that dies ends its run with a message instead of hanging the window."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from nnviz.core.presets import load_preset
from nnviz.engine.messages import EpochEnd, Failed, Finished, Progress, Snapshot, StateChanged
from nnviz.engine.options import SessionOptions
from nnviz.engine.process import Engine, ProcessSession, shared_engine
from nnviz.engine.session import TrainingSession
from nnviz.engine.surface import flatten_layers


def wait_for(predicate, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture(scope="module")
def spiral():
    return load_preset("spiral-playground").with_training(epochs=1, max_steps=120)


def test_a_run_in_the_engine_process_equals_the_same_run_on_a_thread(spiral):
    here = TrainingSession(spiral, SessionOptions(download=False, path_points=40))
    here.run()
    seen = []
    there = ProcessSession(spiral, SessionOptions(download=False, path_points=40), on_message=seen.append)
    there.start()
    assert there.join(120) and not there.running
    assert isinstance(there.result, Finished) and there.result.reason == "completed"
    assert there.result.step == here.result.step == 120
    # bit for bit the same weights, and the same per-epoch numbers
    assert there.final_params.keys() == here.final_params.keys()
    for nid, layer in here.final_params.items():
        for k, v in layer.items():
            np.testing.assert_array_equal(there.final_params[nid][k], v)
    assert [e.test_loss for e in there.history] == [e.test_loss for e in here.history]
    assert there.node_types == here.node_types and there.param_count == here.param_count > 0
    # the parent has the dataset the child loaded (loss surfaces and the panels need it)
    np.testing.assert_array_equal(there.dataset.x_train, here.dataset.x_train)
    events = there.drain_events()
    kinds = [type(e) for e in events]
    assert kinds[-1] is Finished and StateChanged in kinds and EpochEnd in kinds and Progress in kinds
    assert [e.step for e in events if isinstance(e, Progress)][-1] == 120
    assert there.take_snapshot().step == 120  # the final snapshot came before Finished
    # the path of every snapshot the run made, for the loss surface, ends at the final weights
    path = there.trajectory
    assert 2 <= len(path) <= 40 and path.steps[0] == 0 and path.steps[-1] == 120
    np.testing.assert_array_equal(path.steps, here.trajectory.steps)
    np.testing.assert_array_equal(path.thetas[-1], flatten_layers(there.final_params))
    assert any(isinstance(m, Snapshot) for m in seen) and seen[-1] is there.result


def test_commands_reach_the_run_before_and_while_it_trains(spiral):
    long = spiral.with_training(max_steps=1_000_000)
    s = ProcessSession(long, SessionOptions(download=False))
    s.set_speed(2)  # before start: it must not be lost on the way
    with pytest.raises(ValueError, match="learning rate"):
        s.set_learning_rate(-1)
    with pytest.raises(ValueError, match="steps per frame"):
        s.set_speed(0)
    s.start(paused=True)
    assert wait_for(lambda: s.state == "paused")
    s.step(3)

    def stepped():
        events.extend(s.drain_events())
        return any(isinstance(e, Progress) and e.step == 3 for e in events)

    events: list = []
    assert wait_for(stepped), events
    snap = s.take_snapshot()
    assert snap is not None and snap.step == 3
    s.set_learning_rate(0.125)
    s.resume()
    assert wait_for(
        lambda: (snap := s.take_snapshot()) is not None and snap.step > 3 and snap.learning_rate == 0.125
    )

    # speed 2 is live: a Progress after every frame, at most two steps on from the one
    # before (at full speed the chunk grows and hundreds of steps come between them)
    def frames():
        events.extend(s.drain_events())
        return len([e for e in events if isinstance(e, Progress) and e.step > 3]) >= 12

    assert wait_for(frames), events
    assert np.diff([e.step for e in events if isinstance(e, Progress)]).max() <= 2
    s.stop()
    assert s.join(30)
    assert isinstance(s.result, Finished) and s.result.reason == "stopped"


def test_a_killed_engine_ends_the_run_with_a_message_and_the_next_run_gets_a_new_one(spiral):
    engine = Engine()
    try:
        s = ProcessSession(
            spiral.with_training(max_steps=1_000_000), SessionOptions(download=False), engine=engine
        )
        s.start()
        assert wait_for(lambda: s._last_step > 0)
        pid = engine.pid
        os.kill(pid, 9)
        assert s.join(30)
        assert isinstance(s.result, Failed) and "training process was ended" in s.result.reason
        assert s.result.step > 0 and s.state == "idle"
        assert isinstance(s.drain_events()[-1], Failed)
        again = ProcessSession(spiral, SessionOptions(download=False), engine=engine)
        again.start()
        assert again.join(120) and again.result.reason == "completed"
        assert engine.pid != pid
        # a run that will not stop in time is killed: it was asked to stop, so it ends as
        # stopped (a Reset must not show the user an error)
        stuck = ProcessSession(
            spiral.with_training(max_steps=1_000_000), SessionOptions(download=False), engine=engine
        )
        stuck.start()
        assert wait_for(lambda: stuck._last_step > 0)
        stuck.kill()
        assert stuck.join(30) and not engine.alive
        assert isinstance(stuck.result, Finished) and stuck.result.reason == "stopped"
        assert stuck.result.step == stuck._last_step > 0
        # a process that died by itself (at exit multiprocessing ends it before our atexit
        # handler runs): its listener lets go of the pipe, and close() says nothing
        last = ProcessSession(
            spiral.with_training(max_steps=1_000_000), SessionOptions(download=False), engine=engine
        )
        last.start()
        assert wait_for(lambda: last._last_step > 0)
        os.kill(engine.pid, 9)
        assert last.join(30) and wait_for(lambda: engine._conn is None, 10)
        assert engine._send(("quit",)) is False
        engine.close(1.0)
        assert not engine.alive
    finally:
        engine.close()


def test_the_engine_is_reused_between_runs_and_trains_outside_this_process(spiral):
    engine = shared_engine()
    first = ProcessSession(spiral, SessionOptions(download=False))
    first.start()
    assert first.join(120)
    pid = engine.pid
    assert pid is not None and pid != os.getpid()
    assert not any(t.name == "nnviz-training" for t in threading.enumerate())
    second = ProcessSession(spiral.with_training(seed=7), SessionOptions(download=False))
    second.start()
    assert second.join(120) and second.result.reason == "completed"
    assert engine.pid == pid  # imports and compiled steps kept: no new process per run


def test_an_engine_that_cannot_start_fails_the_run_with_a_message(spiral, monkeypatch):
    engine = Engine()

    def no_process():
        raise OSError("out of process slots")

    monkeypatch.setattr(engine, "_ensure", no_process)
    s = ProcessSession(spiral, SessionOptions(download=False), engine=engine)
    s.start()
    assert s.join(1) and not s.running
    assert isinstance(s.result, Failed) and "could not start: out of process slots" in s.result.reason
    assert [type(e) for e in s.drain_events()] == [StateChanged, Failed]


ORPHAN_SCRIPT = """
import sys, time
from nnviz.core.presets import load_preset
from nnviz.engine.options import SessionOptions
from nnviz.engine.process import ProcessSession, shared_engine
if __name__ == "__main__":
    long = load_preset("spiral-playground").with_training(max_steps=10_000_000)
    s = ProcessSession(long, SessionOptions(download=False))
    s.start()
    while s._last_step == 0:
        time.sleep(0.05)
    print(shared_engine().pid, flush=True)
    time.sleep(600)
"""


def test_the_engine_does_not_outlive_a_killed_app(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "app.py"
    script.write_text(ORPHAN_SCRIPT)
    app = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(app.stdout.readline())
        app.kill()  # no atexit, no goodbye: the engine sees its pipe close
        app.wait(10)

        def gone():
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            with open(f"/proc/{pid}/stat") as f:  # a zombie waiting for its reaper has ended too
                return f.read().split(")")[-1].split()[0] == "Z"

        assert wait_for(gone, 15), f"the engine {pid} kept running after its app was killed"
    finally:
        app.kill()


@pytest.fixture(scope="module")
def own_engine():
    engine = Engine()
    yield engine
    engine.close()


def test_a_run_that_cannot_be_made_fails_and_the_engine_goes_on(spiral, own_engine):
    # An exception while the child makes the session killed its receiver: the run never
    # ended, and every later run on that engine hung with it.
    bad = ProcessSession(spiral, {"no_such_option": 1}, engine=own_engine)  # not a SessionOptions
    bad.start()
    assert bad.join(30) and isinstance(bad.result, Failed) and "no_such_option" in bad.result.reason
    assert [type(e) for e in bad.drain_events()][-1] is Failed
    again = ProcessSession(spiral, SessionOptions(download=False), engine=own_engine)
    again.start()
    assert again.join(120) and again.result.reason == "completed"


def test_two_runs_given_to_one_engine_both_end(spiral, own_engine):
    # The second run's arrival used to silence the first (its messages went nowhere).
    first = ProcessSession(spiral, SessionOptions(download=False), engine=own_engine)
    second = ProcessSession(spiral.with_training(seed=3), SessionOptions(download=False), engine=own_engine)
    first.start()
    second.start()
    assert first.join(120) and second.join(120)
    assert first.result.reason == second.result.reason == "completed"
    assert first.final_params is not None and second.final_params is not None
    assert not all(
        np.array_equal(first.final_params[n][k], second.final_params[n][k])
        for n in first.final_params
        for k in first.final_params[n]
    )


def test_a_listener_that_raises_does_not_silence_the_engine(spiral, own_engine):
    def broken(msg):
        raise RuntimeError("a bug in a listener")

    s = ProcessSession(spiral, SessionOptions(download=False), engine=own_engine, on_message=broken)
    s.start()
    assert s.join(120) and s.result.reason == "completed"
    after = ProcessSession(spiral, SessionOptions(download=False), engine=own_engine)
    after.start()
    assert after.join(120) and after.result.reason == "completed"


def test_a_run_that_cannot_be_sent_fails_with_a_message_and_the_engine_goes_on(spiral):
    lock = threading.Lock()  # cannot be pickled
    s = ProcessSession(spiral, SessionOptions(download=False), initial_params=lock)
    s.start()  # must not raise into the window
    assert s.join(1) and isinstance(s.result, Failed)
    assert "could not be sent to the training process" in s.result.reason
    after = ProcessSession(spiral, SessionOptions(download=False))
    after.start()
    assert after.join(120) and after.result.reason == "completed"


UNGUARDED_SCRIPT = """
from nnviz.core.presets import load_preset
from nnviz.engine.options import SessionOptions
from nnviz.engine.process import ProcessSession
s = ProcessSession(load_preset("spiral-playground").with_training(max_steps=50), SessionOptions(download=False))
s.start()
s.join(120)
print("RESULT", type(s.result).__name__, getattr(s.result, "reason", ""), flush=True)
"""


def test_a_script_without_a_main_guard_still_gets_an_engine(tmp_path):
    """spawn runs the parent's main script again in the child, unless nnviz keeps it from it."""
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED_SCRIPT)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "RESULT Finished completed" in result.stdout, result.stdout + result.stderr[-2000:]
    assert result.stdout.count("RESULT") == 1  # the script ran once, not again in the engine
