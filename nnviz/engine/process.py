"""Training in a child process, so the window's Python never competes with it for the GIL.

A TrainingSession on a thread of the GUI's process shares one interpreter lock with
the panels: between two jitted chunks the training thread needs the lock for a moment,
and with every panel drawing it waited long enough to lose half its speed
(benchmarks/gui_live.py measured 0.45-0.52 of headless). In its own process it has an
interpreter to itself; the window only unpickles what it is sent.

One engine process serves the application (``shared_engine``): it is spawned once,
imports JAX once, keeps its compiled steps between runs (Reset and Train again does not
recompile) and runs one session at a time. ``ProcessSession`` is the GUI side of one
run, with TrainingSession's control surface and mailbox, so the bridge cannot tell the
two apart.

Wire protocol on one duplex pipe (pickled tuples):

- parent to child: ``("warm",)``,
  ``("run", run_id, project, SessionOptions, dataset, initial_params, resume, commands)``
  (``resume`` a RunState or None; the commands given before start, applied before the
  run can take its first step),
  ``("cmd", run_id, SessionCommand, value)`` and ``("quit",)``;
- child to parent: ``("dataset", run_id, Dataset)`` once the run has loaded it,
  ``("end", run_id, attributes)`` just before the run's Finished or Failed, and
  ``("msg", run_id, message)`` for every message, snapshots thinned to the newest.

In the child a sender thread does the pickling and writing, so training never waits
for a busy window to read the pipe; it sends the newest snapshot and every small
message in order. When the child dies (killed, out of memory, a crash in native code)
the run ends with a Failed message written for the user, and the next run starts a
fresh engine.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import importlib
import itertools
import logging
import os
import sys
import threading
from typing import Any

from ..core.datasets import Dataset
from ..core.project import Project
from .commands import Command, SessionCommand
from .messages import EpochEnd, Failed, Finished, Progress, Snapshot, StateChanged
from .options import SessionOptions
from .session import Listener, SessionMailbox
from .weights import RunState

log = logging.getLogger(__name__)

# ====================================================================== the child


class _Outbox:
    """The child's messages to the parent, written by one sender thread.

    The training thread only appends (or replaces the newest snapshot) and goes on; the
    sender pickles and writes, so a window too busy to read the pipe slows only the
    flow of snapshots, never training.
    """

    def __init__(self, conn) -> None:
        self.conn = conn
        self.cond = threading.Condition()
        self.items: collections.deque = collections.deque()
        self.snapshot: tuple | None = None
        self.closed = False
        self.thread = threading.Thread(target=self._loop, name="nnviz-engine-sender", daemon=True)
        self.thread.start()

    def put(self, item: tuple) -> None:
        with self.cond:
            if item[0] == "msg" and isinstance(item[2], Snapshot):
                self.snapshot = item
            else:
                self.items.append(item)
            self.cond.notify()

    def close(self) -> None:
        """Send what is queued, then stop the sender."""
        with self.cond:
            self.closed = True
            self.cond.notify()
        self.thread.join()

    def _loop(self) -> None:
        while True:
            with self.cond:
                while not self.items and self.snapshot is None and not self.closed:
                    self.cond.wait()
                items, self.items = list(self.items), collections.deque()
                snap, self.snapshot = self.snapshot, None
                done = self.closed
            try:
                # The snapshot before the messages: a run's final snapshot must be there
                # when its Finished is read, and the watcher takes both in one poll anyway.
                # A dataset goes before both: the panels read it with the first snapshot.
                first = [item for item in items if item[0] == "dataset"]
                rest = [item for item in items if item[0] != "dataset"]
                for item in first + ([snap] if snap is not None else []) + rest:
                    self.conn.send(item)
            except (OSError, ValueError):  # the parent has gone: nobody to tell
                return
            if done:
                return


def _engine_main(conn) -> None:
    """The engine process: runs the sessions the parent asks for, one after another."""
    import queue
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in a terminal is the parent's to handle
    _start_jax(engine_threads())
    from .session import TrainingSession

    outbox = _Outbox(conn)
    runs: queue.Queue = queue.Queue()
    # Every run from its "run" to its end, by id: a run queued behind another (or a
    # command for it) must find its own session, not the newest one.
    sessions: dict[int, Any] = {}

    def stop_all() -> None:
        for session in list(sessions.values()):
            session.stop()

    def receive() -> None:
        while True:
            try:
                item = conn.recv()
            except (EOFError, OSError):  # the parent is gone: stop, and do not outlive it
                stop_all()
                runs.put(None)
                threading.Timer(3.0, os._exit, (0,)).start()  # stuck in a compilation: go anyway
                return
            kind = item[0]
            if kind == "run":  # made here, so the commands right behind it find it
                _, run_id, project, options, dataset, initial_params, resume, commands = item
                try:
                    session = TrainingSession(
                        project,
                        options,
                        dataset=dataset,
                        resume=resume,
                        initial_params=initial_params,
                        on_message=make_forward(run_id, dataset is not None),
                    )
                except Exception as exc:  # this run cannot be made; the engine goes on
                    log.exception("could not make the training session")
                    outbox.put(("msg", run_id, StateChanged("idle")))
                    outbox.put(("msg", run_id, Failed(f"Training stopped by an internal error: {exc}")))
                    continue
                sessions[run_id] = session
                for command, value in commands:  # given before start: they precede the first step
                    session.command(command, value)
                runs.put(session)
            elif kind == "cmd":
                _, run_id, command, value = item
                session = sessions.get(run_id)
                if session is not None:
                    session.command(command, value)
            elif kind == "warm":
                runs.put(kind)
            elif kind == "quit":
                stop_all()
                runs.put(None)
                return

    def make_forward(run_id: int, given_dataset: bool):
        sent = {"dataset": given_dataset}  # a dataset it was given goes back unsent

        def forward(msg) -> None:
            session = sessions.get(run_id)
            if session is None:
                return
            if not sent["dataset"] and session.dataset is not None:
                sent["dataset"] = True
                outbox.put(("dataset", run_id, session.dataset))
            if isinstance(msg, (Finished, Failed)):
                sessions.pop(run_id, None)
                outbox.put(
                    (
                        "end",
                        run_id,
                        {
                            "final_params": session.final_params,
                            "node_types": session.node_types,
                            "param_count": session.param_count,
                            "chunk_steps": session.chunk_steps,
                            "trajectory": session.trajectory,
                            "run_state": session.run_state,
                            "history": session.history,  # a resumed run's begins with the earlier epochs
                        },
                    )
                )
            outbox.put(("msg", run_id, msg))

        return forward

    threading.Thread(target=receive, name="nnviz-engine-receiver", daemon=True).start()
    while True:
        item = runs.get()
        if item is None:
            break
        if item == "warm":  # the imports a first run would wait for
            for name in ("jax", "optax", "flax.nnx"):
                importlib.import_module(name)
            continue
        item.run()
    outbox.close()
    conn.close()


def engine_threads() -> int:
    """How many threads XLA may compute with in the engine: every CPU but one, for the window.

    On this project's 2-core machine a headless run keeps both cores busy (1.7 cores for
    Fashion-MNIST's MLP), but beside a window drawing every panel (0.6 of a core) a
    parallel op whose other half is descheduled waits for it: with two threads training
    beside the window ran at 0.66 of headless, 24 snapshots drawn a second, the window's
    timer late by 75 ms at p99; with one (kept on one CPU, see _start_jax) at 0.68-0.69,
    as fast as the engine with no window at all, 31.5 a second, p99 32-47 ms (gui_live,
    after the chunks were pipelined). NNVIZ_ENGINE_THREADS overrides it.
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        return max(1, int(os.environ.get("NNVIZ_ENGINE_THREADS", "")))
    except ValueError:
        return max(1, cpus - 1)


def _start_jax(threads: int) -> None:
    """Start JAX's CPU backend with a pool of ``threads`` (its size comes from the CPU mask).

    Linux keeps a mask per thread and new threads inherit their creator's, so the pool's
    threads stay on the last ``threads`` CPUs (the first takes most interrupts, and the
    window most of what is left); with several, the calling thread gets every CPU back.
    With one, the calling thread stays on that CPU too: XLA runs an op partly on the
    calling thread and partly on its pool thread, and on two CPUs every hand-over between
    them was a cross-CPU wake-up (free to move, it trained at 85-96k samples/s; kept on
    one CPU, at 121-128k).
    """
    if not hasattr(os, "sched_setaffinity"):
        return
    cpus = os.sched_getaffinity(0)
    if threads >= len(cpus):
        return
    os.sched_setaffinity(0, set(sorted(cpus)[-threads:]))
    try:
        import jax

        jax.devices("cpu")
    except Exception:  # no CPU backend asked for: XLA picks its own threads, as it would anyway
        log.info("could not start the CPU backend early", exc_info=True)
    finally:
        if threads > 1:
            os.sched_setaffinity(0, cpus)


# ====================================================================== the parent


class Engine:
    """The parent's handle on the engine process: spawns it, sends to it, listens to it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # sending, and swapping the process
        self._proc = None
        self._conn = None
        self._sessions: dict[int, ProcessSession] = {}
        self._ids = itertools.count(1)

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _ensure(self) -> None:  # with the lock held
        if self._proc is not None and self._proc.is_alive():
            return
        import multiprocessing as mp

        # This process may use the same GPU (loss surfaces): neither may take 75 % of it up front.
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

        # spawn, never fork: the GUI's process has Qt's and XLA's threads, which fork does not copy
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe(duplex=True)
        proc = ctx.Process(target=_engine_main, args=(child,), name="nnviz-engine", daemon=True)
        with _main_module_hidden():
            proc.start()
        child.close()
        self._proc, self._conn = proc, parent
        threading.Thread(
            target=self._listen, args=(proc, parent), name="nnviz-engine-listener", daemon=True
        ).start()

    def warm(self) -> None:
        """Start the process and import JAX there now, so the first Train does not wait for it."""
        with self._lock:
            self._ensure()
            self._send(("warm",))

    def submit(self, session: ProcessSession, commands: list[tuple]) -> int:
        """Send ``session`` to the process, with the commands it was given before (in order)."""
        with self._lock:
            run_id = next(self._ids)
            try:
                self._ensure()
            except Exception as exc:  # no process could start (no memory, a broken install)
                log.exception("could not start the engine process")
                session._receive(StateChanged("idle"))
                session._receive(Failed(f"The training process could not start: {exc}"))
                return run_id
            session._proc = self._proc
            self._sessions[run_id] = session
            try:
                sent = self._send(
                    (
                        "run",
                        run_id,
                        session.project,
                        session.options,
                        session.dataset,
                        session.initial_params,
                        session.resume_state,
                        list(commands),
                    )
                )
            except Exception as exc:  # pickling failed before anything was written: the pipe is intact
                log.exception("could not send a run to the engine process")
                self._sessions.pop(run_id, None)
                session._receive(StateChanged("idle"))
                session._receive(Failed(f"The run could not be sent to the training process: {exc}"))
                return run_id
            if not sent:
                self._sessions.pop(run_id, None)
                session._lost(None)
                return run_id
        return run_id

    def send(self, *item) -> None:
        with self._lock:
            self._send(item)

    def _send(self, item: tuple) -> bool:
        """Send ``item``; False when the process has gone (its listener tells the runs).

        What cannot be pickled raises, before anything is written.
        """
        from multiprocessing.reduction import ForkingPickler

        data = ForkingPickler.dumps(item)  # as Connection.send pickles
        conn = self._conn
        if conn is None:
            return False
        try:
            conn.send_bytes(data)
            return True
        except (OSError, ValueError, TypeError):  # closed, or closed by the listener meanwhile
            return False

    def kill(self) -> None:
        """End the process now (a run that would not stop); the next run starts a new one."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None and proc.is_alive():
            proc.kill()
            proc.join(2.0)

    def close(self, timeout: float = 2.0) -> None:
        """Ask the process to end, and kill it if it has not within ``timeout`` s."""
        with self._lock:
            proc = self._proc
            if proc is None:
                return
            if proc.is_alive():  # at exit multiprocessing may have ended it first
                self._send(("quit",))
        proc.join(timeout)
        self.kill()

    def _listen(self, proc, conn) -> None:
        """The listener thread: every message from the child reaches its run's mailbox."""
        while True:
            try:
                kind, run_id, payload = conn.recv()
            except (EOFError, OSError):
                break
            except Exception:  # a message that does not unpickle: say so, keep listening
                log.exception("unreadable message from the engine process")
                continue
            session = self._sessions.get(run_id)
            if session is None:
                continue
            if kind == "msg":
                session._receive(payload)
                if isinstance(payload, (Finished, Failed)):
                    self._sessions.pop(run_id, None)
            elif kind == "dataset":
                session.dataset = payload
            elif kind == "end":
                for name, value in payload.items():
                    setattr(session, name, value)
        with self._lock:  # nobody may send on it while it closes
            if self._conn is conn:
                self._conn = None
        conn.close()
        proc.join(5.0)
        for run_id, session in list(self._sessions.items()):
            if session._proc is proc:
                self._sessions.pop(run_id, None)
                session._lost(proc.exitcode)


@contextlib.contextmanager
def _main_module_hidden():
    """Start a spawned process without it running the app's ``__main__`` again.

    spawn re-imports the parent's main module in the child (as ``__mp_main__``), so that
    functions defined there can be unpickled. The engine needs nothing from it, and a
    script that opens the window without an ``if __name__ == "__main__"`` guard made the
    engine run the script itself and fail ("An attempt has been made to start a new
    process before the current process has finished its bootstrapping phase"); any
    script would also be imported again, with all it imports. spawn decides from the main
    module's ``__spec__`` and ``__file__``, so they are hidden while the process starts.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    spec, had_file = getattr(main, "__spec__", None), hasattr(main, "__file__")
    path = getattr(main, "__file__", None)
    try:
        main.__spec__ = None
        if had_file:
            del main.__file__
        yield
    finally:
        main.__spec__ = spec
        if had_file:
            main.__file__ = path


_shared: Engine | None = None
_shared_lock = threading.Lock()


def shared_engine() -> Engine:
    """The application's one engine process (spawned on first use, ended at exit)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Engine()
            atexit.register(_shared.close, 1.0)
        return _shared


class ProcessSession(SessionMailbox):
    """One training run in the engine process, with TrainingSession's controls and mailbox.

    Takes TrainingSession's arguments, sent to the child as they are (a ``dataset`` too);
    an ``on_message`` listener is called on the listener thread as messages arrive, and
    sees only the snapshots that were sent, the newest at each moment.
    """

    def __init__(
        self,
        project: Project,
        options: SessionOptions | None = None,
        *,
        engine: Engine | None = None,
        dataset: Dataset | None = None,
        resume: RunState | None = None,
        initial_params: tuple[dict, dict] | None = None,
        on_message: Listener | None = None,
    ) -> None:
        super().__init__(project, on_message)
        if resume is not None and not isinstance(resume, RunState):
            raise TypeError(f"resume must be a RunState, not {type(resume).__name__}")
        if resume is not None and initial_params is not None:
            raise TypeError("give resume or initial_params, not both")
        self.engine = engine or shared_engine()
        self.options = SessionOptions() if options is None else options
        self.dataset = dataset
        self.initial_params = initial_params
        self.resume_state = self.run_state = resume  # run_state: the child's, once the run has ended
        if resume is not None:  # the earlier epochs, until the child sends its own at the end
            self.history = [EpochEnd.from_record(r) for r in resume.history]
        self.run_id: int | None = None
        self._proc = None
        self._done = threading.Event()
        self._last_step = 0
        self._pending: list[tuple] = []
        self._killed = False  # kill() ended it: it stopped as asked
        self._lost_lock = threading.Lock()  # the listener and a failed send may both report a loss

    # ------------------------------------------------------------ control (any thread)

    def start(self, paused: bool = False) -> None:
        if self.run_id is not None:
            raise RuntimeError("a session can be started once")
        if paused:
            self._pending.insert(0, (SessionCommand.PAUSE, None))
        self.run_id = self.engine.submit(self, self._pending)
        self._pending = []

    def _deliver(self, command: Command) -> None:
        if self.run_id is None:  # before start: sent right behind the run, as a thread's queue keeps them
            self._pending.append((command.kind, command.value))
        elif not self._done.is_set():
            self.engine.send("cmd", self.run_id, command.kind, command.value)

    def kill(self) -> None:
        """End a run that does not stop when asked (stuck compiling): its process goes.

        The run then ends as stopped, not failed: it was asked to stop, and did.
        """
        if self.run_id is not None and not self._done.is_set():
            self._killed = True
            self.engine.kill()

    def join(self, timeout: float | None = None) -> bool:
        if self.run_id is None:
            return True
        return self._done.wait(timeout)

    @property
    def running(self) -> bool:
        return self.run_id is not None and not self._done.is_set()

    # ------------------------------------------------------------ from the listener thread

    def _receive(self, msg: Any) -> None:
        if isinstance(msg, StateChanged):
            self.state = msg.state
        elif isinstance(msg, (Finished, Failed)):
            self.result = msg
        elif isinstance(msg, EpochEnd):
            self.history.append(msg)
        elif isinstance(msg, Progress):
            self._last_step = msg.step
        try:
            self._post(msg)
        except Exception:  # a listener's bug must not end the listener thread, nor leave the run unended
            log.exception("a message listener failed")
        if isinstance(msg, (Finished, Failed)):
            self._done.set()

    def _lost(self, exitcode: int | None) -> None:
        """The process ended without finishing this run."""
        with self._lost_lock:
            self._report_lost(exitcode)

    def _report_lost(self, exitcode: int | None) -> None:
        if self._done.is_set():
            return
        if self._killed:
            self._receive(StateChanged("idle"))
            self._receive(Finished("stopped", self._last_step, 0, 0.0, {"steps": self._last_step}))
            return
        how = "was ended" if exitcode is not None and exitcode < 0 else "ended unexpectedly"
        code = f" (exit code {exitcode})" if exitcode not in (None, 0) else ""
        msg = Failed(
            f"The training process {how}{code}; the run stopped there. Press Train to start again.",
            self._last_step,
        )
        self._receive(StateChanged("idle"))
        self._receive(msg)
