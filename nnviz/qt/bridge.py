"""The bridge that brings a training session's messages to the GUI thread.

The session trains in the engine process (nnviz.engine.process; with
NNVIZ_TRAINING_PROCESS=0 on a thread of this one) and never touches Qt. A QTimer on the GUI thread
(about 30 Hz) drains its small messages and takes only the newest heavy snapshot, then
re-emits them as Qt signals, so widgets are only ever touched from the GUI thread and a
fast training loop cannot flood the event queue.

A run that ends leaves its ``run_state`` (weights, optimizer state, step, history) here, and
the next ``start(..., resume=run_state)`` goes on from it; only ``reset`` forgets it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from ..engine.commands import Controls, SessionCommand
from ..engine.options import SessionOptions

if TYPE_CHECKING:  # importing the session module is light, but nothing needs it before Train
    from ..core.project import Project
    from ..engine.session import TrainingSession
    from ..engine.weights import RunState
    from .document import ProjectDocument

POLL_MS = 25  # 40 polls a second, so ~30 snapshots a second reach the panels (33 ms gave ~24)


class SessionBridge(QObject, Controls):
    """Owns the current TrainingSession and re-emits what it reports as Qt signals."""

    loading = Signal(str, int, int)  # what, done, total (0: unknown)
    compiling = Signal(str)
    state_changed = Signal(str)  # running, paused, stopping, idle
    progress = Signal(object)  # Progress
    epoch_ended = Signal(object)  # EpochEnd
    snapshot = Signal(object)  # Snapshot
    finished = Signal(object)  # Finished
    failed = Signal(object)  # Failed
    active_changed = Signal(bool)  # a session exists and has not ended
    reset_done = Signal()

    def __init__(
        self,
        document: ProjectDocument | None = None,
        parent: QObject | None = None,
        *,
        interval_ms: int = POLL_MS,
        session_factory: Callable[..., TrainingSession] | None = None,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.session: TrainingSession | None = None
        self.state = "idle"
        self.last_progress = None
        self.last_epoch = None
        self.result = None  # the last Finished or Failed
        self.run_project: Project | None = None  # what the current (or last) run trains
        self.run_dataset = None  # the dataset it loaded, kept after it ends (loss surfaces)
        self.run_trajectory = None  # the path it recorded, when it did (loss surfaces)
        self.speed: int | None = None  # steps per frame; None: full speed (kept across runs)
        self.run_state: RunState | None = None  # where the last run ended: the next Train goes on from it
        self.run_saved = True  # run_state is what the project's weights file holds (or there is none)
        self.continuing = False  # the current (or last) run went on from a kept state
        self._session_factory = session_factory
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)  # a coarse timer drifted by up to 5 %
        self._timer.timeout.connect(self._on_timer_timeout)

    # ------------------------------------------------------------ state

    @property
    def active(self) -> bool:
        """A session was started and has not yet reported its end."""
        return self.session is not None

    @property
    def paused(self) -> bool:
        return self.active and self.state == "paused"

    def set_document(self, document: ProjectDocument | None) -> None:
        if self.document is not None and self.document is not document:
            self.document.set_training_lock(False)
        self.document = document
        if document is not None and self.active:
            document.set_training_lock(True)

    @staticmethod
    def uses_process() -> bool:
        """Train in the engine process (the default), not on a thread of the GUI's process.

        In a thread the panels' Python and training share one interpreter lock, and with
        every panel in view training ran at half its headless speed.
        """
        return os.environ.get("NNVIZ_TRAINING_PROCESS", "1") != "0"

    def prewarm(self) -> None:
        """Start the engine process and its imports now, so the first Train does not wait."""
        if self._session_factory is None and self.uses_process():
            from ..engine.process import shared_engine

            shared_engine().warm()

    # ------------------------------------------------------------ commands (GUI thread)

    def start(
        self,
        project: Project,
        data_dir: str | None = None,
        *,
        download: bool = True,
        paused: bool = False,
        options: SessionOptions | None = None,
        resume: RunState | None = None,
    ) -> None:
        """Train ``project`` (a snapshot: later edits of the document cannot reach it).

        ``options`` (the window's ``LIVE_SESSION``) with ``data_dir`` and ``download`` in them;
        ``resume``: the state to go on from (``run_state``), instead of new random weights.
        """
        if self.active:
            raise RuntimeError("a training session is already running; stop it first")
        options = replace(options or SessionOptions(), data_dir=data_dir, download=download)
        extra = {} if resume is None else {"resume": resume}
        if self._session_factory is not None:
            session = self._session_factory(project, options=options, **extra)
        elif self.uses_process():
            from ..engine.process import ProcessSession  # light: no jax in this process

            session = ProcessSession(project, options, **extra)
        else:
            from ..engine.session import TrainingSession  # light: jax is imported on its thread

            session = TrainingSession(project, options, **extra)
        self.session = session
        self.continuing = resume is not None
        self.run_project, self.run_dataset, self.run_trajectory = project, None, None
        self.last_progress = self.result = None
        if resume is None:  # a continued run keeps the last epoch's numbers until its next epoch ends
            self.last_epoch = None
        self.state = "paused" if paused else "running"
        if self.document is not None:
            self.document.set_training_lock(True)
        if self.speed is not None:
            session.command(SessionCommand.SPEED, self.speed)  # queued before the first step
        session.start(paused=paused)
        self._timer.start()
        self.active_changed.emit(True)
        self.state_changed.emit(self.state)

    def command(self, kind: SessionCommand, value: Any = None) -> None:
        """Tell the running session ``kind`` (nothing without one); ValueError unless ``value`` suits it."""
        if self.session is not None:
            self.session.command(kind, value)

    def set_learning_rate(self, lr: float) -> str | None:
        """Change the running session's learning rate; the reason when it is refused."""
        try:
            self.command(SessionCommand.LEARNING_RATE, lr)
        except ValueError as exc:
            return str(exc)
        return None

    def set_speed(self, steps_per_frame: int | None) -> None:
        """At most ``steps_per_frame`` training steps per frame (None: full speed), now and for later runs."""
        self.speed = None if steps_per_frame is None else max(1, int(steps_per_frame))
        self.command(SessionCommand.SPEED, self.speed)

    def reset(self, timeout: float = 2.0) -> None:
        """Stop any run and forget its results: the next Train starts from fresh weights."""
        self.shutdown(timeout)
        self.forget_run()
        self.last_progress = self.last_epoch = self.result = None
        self.run_project = self.run_dataset = self.run_trajectory = None
        self.reset_done.emit()

    def forget_run(self) -> None:
        """No kept state any more (another document, Reset): the next run starts from scratch."""
        self.run_state = None
        self.run_saved = True
        self.continuing = False

    def keep_run(self, state: RunState, saved: bool) -> None:
        """Go on from ``state`` (read from a file): ``saved`` when the project's weights file holds it."""
        self.run_state = state
        self.run_saved = saved

    @property
    def unsaved_run(self) -> bool:
        """A run trained (or is training) steps that no weights file holds."""
        p = self.last_progress
        kept = self.run_state.step if self.run_state is not None else 0
        if self.active and p is not None and p.step > kept:
            return True
        return self.run_state is not None and not self.run_saved

    def shutdown(self, timeout: float = 2.0) -> bool:
        """Stop the session and wait up to ``timeout`` s for its thread; True when it ended."""
        session = self.session
        if session is None:
            return True
        session.command(SessionCommand.STOP)
        ended = session.join(timeout)
        if not ended and hasattr(session, "kill"):
            session.kill()  # stuck in a long compilation: its process goes (a thread could not)
            ended = session.join(2.0)
        self._poll()  # deliver Finished and the final state
        if self.session is session:  # the thread did not report its end in time
            self._end(session)
        return ended

    # ------------------------------------------------------------ polling (GUI thread)

    def _on_timer_timeout(self) -> None:
        self._poll()

    def _poll(self) -> None:
        session = self.session
        if session is None:
            return
        from ..engine import messages as m  # already imported by the session module

        alive = session.running  # read before draining: a dead thread has sent everything
        ended = False
        for msg in session.drain_events():
            if isinstance(msg, m.Progress):
                self.last_progress = msg
                self.progress.emit(msg)
            elif isinstance(msg, m.EpochEnd):
                self.last_epoch = msg
                self.epoch_ended.emit(msg)
            elif isinstance(msg, m.StateChanged):
                self.state = msg.state
                self.state_changed.emit(msg.state)
            elif isinstance(msg, m.Loading):
                self.loading.emit(msg.what, int(msg.done), int(msg.total))
            elif isinstance(msg, m.Compiling):
                self.compiling.emit(msg.what)
            elif isinstance(msg, m.Finished):
                self.result = msg
                ended = True
                self.finished.emit(msg)
            elif isinstance(msg, m.Failed):
                self.result = msg
                ended = True
                self.failed.emit(msg)
        snap = session.take_snapshot()
        if snap is not None:
            self.snapshot.emit(snap)
        if ended or not alive:
            self._end(session)

    def _end(self, session: TrainingSession) -> None:
        if self.session is not session:
            return
        self.session = None
        state = getattr(session, "run_state", None)
        if state is not None:
            if self.run_state is None or state.step != self.run_state.step:
                self.run_saved = False
            self.run_state = state
        self.run_dataset = getattr(session, "dataset", None)
        self.run_trajectory = getattr(session, "trajectory", None)
        self._timer.stop()
        if self.document is not None:
            self.document.set_training_lock(False)
        if self.state != "idle":
            self.state = "idle"
            self.state_changed.emit("idle")
        self.active_changed.emit(False)
