"""SessionBridge: messages from the training thread arrive as Qt signals on the GUI thread."""

from __future__ import annotations

import collections
import threading

import pytest
from PySide6.QtCore import QObject, QThread, Signal

from nnviz.core.presets import load_preset
from nnviz.engine.commands import SessionCommand
from nnviz.engine.messages import Compiling, EpochEnd, Failed, Finished, Loading, Progress, StateChanged
from nnviz.engine.options import SessionOptions
from nnviz.qt.bridge import SessionBridge
from nnviz.qt.document import ProjectDocument


class FakeSession:
    """Stands in for TrainingSession: the test pushes messages, the bridge drains them."""

    def __init__(self, project, **kwargs):
        self.project, self.kwargs = project, kwargs
        self.events = collections.deque()
        self.commands = []
        self.snap = None
        self._alive = False
        self.thread = None

    def start(self, paused=False):
        self._alive = True
        self.commands.append(("start", paused))

    def pause(self):
        self.commands.append("pause")

    def resume(self):
        self.commands.append("resume")

    def step(self, n=1):
        self.commands.append(("step", n))

    def stop(self):
        self.commands.append("stop")
        self.events.append(StateChanged("idle"))
        self.events.append(Finished("stopped", 0, 0, 0.0))
        self._alive = False

    def set_learning_rate(self, lr):
        if not 0 < lr <= 100:
            raise ValueError("the learning rate must be above 0 and at most 100")
        self.commands.append(("lr", lr))

    def command(self, kind, value=None):  # what the bridge calls, as on TrainingSession
        if kind is SessionCommand.STEP:
            self.step(value)
        elif kind is SessionCommand.LEARNING_RATE:
            self.set_learning_rate(value)
        elif kind is not SessionCommand.SPEED:  # a speed is not recorded
            getattr(self, kind.value)()

    def join(self, timeout=None):
        return True

    @property
    def running(self):
        return self._alive

    def drain_events(self):
        out = list(self.events)
        self.events.clear()
        return out

    def take_snapshot(self):
        s, self.snap = self.snap, None
        return s


@pytest.fixture
def doc(qapp):
    return ProjectDocument(load_preset("xor-one-hidden"))


def test_messages_become_signals_and_the_lock_follows_the_run(qtbot, doc):
    sessions = []
    bridge = SessionBridge(
        doc, session_factory=lambda p, **kw: sessions.append(FakeSession(p, **kw)) or sessions[-1]
    )
    got = collections.defaultdict(list)
    for name in (
        "loading",
        "compiling",
        "state_changed",
        "progress",
        "epoch_ended",
        "snapshot",
        "finished",
        "failed",
        "active_changed",
    ):
        getattr(bridge, name).connect(lambda *a, n=name: got[n].append(a))
    bridge.start(doc.snapshot_project(), "/data", download=False)
    s = sessions[0]
    assert s.kwargs == {"options": SessionOptions(data_dir="/data", download=False)} and doc.training_lock
    assert doc.add_node("Dense", (0, 0)) is None  # structural edits are refused while training
    s.events.extend(
        [
            Loading("Loading xor"),
            Compiling("the step"),
            StateChanged("running"),
            Progress(5, 1, 0.5, 10, 0.6, 0.7, 0.01, 100.0),
            EpochEnd(1, 10, 0.5, 0.8, float("nan"), float("nan"), 0.4, 0.9, 0.1),
        ]
    )
    s.snap = object()
    qtbot.waitUntil(lambda: len(got["epoch_ended"]) == 1, timeout=2000)
    assert got["loading"] == [("Loading xor", 0, 0)] and got["compiling"] == [("the step",)]
    assert got["progress"][0][0].step == 5 and len(got["snapshot"]) == 1
    bridge.pause(), bridge.step(3), bridge.resume()
    assert bridge.set_learning_rate(0.5) is None and "at most 100" in bridge.set_learning_rate(500)
    assert s.commands[1:] == ["pause", ("step", 3), "resume", ("lr", 0.5)]
    s.events.append(Failed("The loss became NaN"))
    s._alive = False
    qtbot.waitUntil(lambda: not bridge.active, timeout=2000)
    assert got["failed"][0][0].reason == "The loss became NaN" and not doc.training_lock
    assert got["active_changed"] == [(True,), (False,)]
    assert bridge.result.reason == "The loss became NaN"


def test_shutdown_stops_and_unlocks(qtbot, doc):
    bridge = SessionBridge(doc, session_factory=FakeSession)
    bridge.start(doc.snapshot_project())
    assert bridge.shutdown(2.0) and not bridge.active and not doc.training_lock
    assert isinstance(bridge.result, Finished) and bridge.result.reason == "stopped"
    bridge.reset()
    assert bridge.result is None


def test_real_session_trains_xor_to_the_end(qtbot, doc):
    """The real TrainingSession on its thread, watched through the bridge."""
    bridge = SessionBridge(doc)
    project = doc.snapshot_project().with_training(max_steps=40)
    with qtbot.waitSignal(bridge.finished, timeout=30000) as blocker:
        bridge.start(project)
    assert blocker.args[0].reason == "completed" and blocker.args[0].step == 40
    assert bridge.last_progress is not None and not bridge.active and not doc.training_lock
    assert not any(t.name == "nnviz-training" and t.is_alive() for t in threading.enumerate())


class _Emitter(QObject):
    flag = Signal(bool)
    maybe = Signal(object)
    ping = Signal()


def test_many_bool_none_and_void_signals_do_not_crash(qtbot, doc):
    """PySide6 6.12.0 on Python 3.11 dropped a reference to True/False/None on each void
    call and emit and aborted (bool_dealloc) after a few thousand; we pin <6.12. This test
    keeps that trap closed: the process must survive and every count must match."""
    n = 20_000
    e = _Emitter()
    counts = collections.Counter()
    e.flag.connect(lambda v: counts.update(["flag" if v in (True, False) else "bad"]))
    e.maybe.connect(lambda v: counts.update(["none" if v is None else "obj"]))
    e.ping.connect(lambda: counts.update(["ping"]))
    for i in range(n):
        e.flag.emit(i % 2 == 0)
        e.maybe.emit(None)
        e.ping.emit()
        doc.set_training_lock(i % 2 == 0)  # a bool signal through the document
        QThread.currentThread().isInterruptionRequested()  # a void C++ call returning bool
        doc.undo_stack.canUndo()
    assert counts == {"flag": n, "none": n, "ping": n}
    # The bridge's own traffic: many polls with bool payloads and None snapshots.
    bridge = SessionBridge(doc, session_factory=FakeSession)
    actives = []
    bridge.active_changed.connect(actives.append)
    for _ in range(2000):
        bridge.start(doc.snapshot_project())
        bridge._poll()
        bridge.stop()
        bridge._poll()
    assert actives == [True, False] * 2000 and not bridge.active
    import sys

    assert sys.getrefcount(True) > 0 and sys.getrefcount(None) > 0
