"""The training session: one thread that owns every JAX call of a training run.

Commands come in through a queue and are read between chunks of steps; messages go
out through a bounded event buffer, a "latest wins" snapshot mailbox and an optional
callback, so the session never waits for whoever is watching. ``run()`` is the
synchronous mode (tests, CLI); ``start()`` runs the same code on a daemon thread.

The run itself (the model, the loop in chunks of steps, the reports) is a
``TrainingRun`` (training_run.py); the compiled step it calls is in training.py.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.datasets import Dataset, DatasetError
from ..core.project import Project, ProjectError
from .commands import Command, Controls, SessionCommand
from .messages import EpochEnd, Failed, Finished, Snapshot, StateChanged, drain
from .options import SessionOptions
from .training_run import StopRequested, TrainingRun
from .weights import RunState

log = logging.getLogger(__name__)


Listener = Callable[[Any], None]


class SessionMailbox(Controls):
    """What a watcher reads from a session and tells it, wherever it trains (a thread, or a child process).

    Small messages queue up in ``events`` (bounded); snapshots go to a "latest wins"
    slot; ``on_message`` sees everything as it is posted. ``_post`` may be called from
    any one thread; ``drain_events`` and ``take_snapshot`` from another. Commands
    (``command``, or pause, step, ... for short) go to the run through ``_deliver``.
    """

    def __init__(self, project: Project, on_message: Listener | None = None) -> None:
        self.project = project
        self.on_message = on_message
        self.events: collections.deque = collections.deque(maxlen=10000)
        self._snapshot: Snapshot | None = None
        self._snapshot_lock = threading.Lock()
        self._speed: int | None = None  # as last asked for; the training side keeps its own
        self.state = "idle"
        self.dataset: Dataset | None = None
        self.result: Finished | Failed | None = None
        self.history: list[EpochEnd] = []
        self.final_params: dict[str, dict[str, np.ndarray]] | None = None
        # What a later session continues from (weights.RunState): after the run has
        # ended, however it ended; before, the state it resumes, if any.
        self.run_state: RunState | None = None
        self.node_types: dict[str, str] = {}
        self.param_count = 0
        self.chunk_steps = 1
        self.trajectory = None  # θ_t of the run when it recorded its path (nnviz.engine.surface.Trajectory)

    @property
    def speed(self) -> int | None:
        """Steps per frame as last set with set_speed (None: full speed)."""
        return self._speed

    # ------------------------------------------------------------ control (any thread)

    def command(self, kind: SessionCommand, value: Any = None) -> None:
        """Tell the run ``kind``; ValueError, and nothing sent, unless ``value`` suits it."""
        value = kind.checked(value)
        if kind is SessionCommand.SPEED:
            self._speed = value
        self._deliver(Command(kind, value))

    def _deliver(self, command: Command) -> None:
        raise NotImplementedError

    def set_learning_rate(self, lr: float) -> None:
        """Change the learning rate live (no recompilation); ValueError unless 0 < lr <= 100."""
        self.command(SessionCommand.LEARNING_RATE, lr)

    def set_speed(self, steps_per_frame: int | None) -> None:
        """Slow motion: at most ``steps_per_frame`` steps per frame, or None for full speed.

        In slow motion the session trains at most that many steps in each frame of
        ``frame_seconds``, sends a Progress and a Snapshot after each frame and waits out
        the rest of it, still answering commands. Takes effect at once, recompiles
        nothing and never changes the result: the same seed gives the same weights at
        any speed. ValueError unless None or a whole number >= 1.
        """
        self.command(SessionCommand.SPEED, steps_per_frame)

    # ------------------------------------------------------------ what the run reported (any thread)

    def take_snapshot(self) -> Snapshot | None:
        """The newest snapshot not yet taken, or None."""
        with self._snapshot_lock:
            snap, self._snapshot = self._snapshot, None
        return snap

    def drain_events(self) -> list[Any]:
        """Every small message (progress, epoch ends, state) since the last call."""
        return drain(self.events)

    def _post(self, msg: Any) -> None:
        if isinstance(msg, Snapshot):
            with self._snapshot_lock:
                self._snapshot = msg
        else:
            self.events.append(msg)
        if self.on_message is not None:
            self.on_message(msg)

    def save_weights(self, path) -> None:
        """Write the final (or last good) weights, and what a run needs to continue, after the run has ended."""
        from .weights import save_run_state, save_weights

        if self.run_state is not None and self.final_params is not None:
            save_run_state(path, self.run_state)
            return
        if self.final_params is None:
            raise RuntimeError("there are no trained weights yet")
        save_weights(
            path, self.final_params, self.node_types, self.result.step if self.result is not None else 0
        )


class TrainingSession(SessionMailbox):
    """Trains one project on its own thread (or the calling one) and reports what happens inside the network."""

    def __init__(
        self,
        project: Project,
        options: SessionOptions | None = None,
        *,
        dataset: Dataset | None = None,
        resume: RunState | None = None,
        initial_params: tuple[dict, dict] | None = None,
        on_message: Listener | None = None,
    ) -> None:
        """``dataset``: train on it instead of loading the project's; ``resume``: a RunState
        to continue (the project's epochs or step limit are the run's total target, so a
        target already reached trains nothing and shows the resumed weights);
        ``initial_params``: (weights, node types) as ``load_weights`` reads them, to start
        a fresh run from instead of the project's initialisation."""
        super().__init__(project, on_message)
        options = SessionOptions() if options is None else options
        if not isinstance(options, SessionOptions):
            raise TypeError(f"options must be SessionOptions, not {options!r}")
        if resume is not None and not isinstance(resume, RunState):
            raise TypeError(f"resume must be a RunState, not {type(resume).__name__}")
        if resume is not None and initial_params is not None:
            raise TypeError("give resume or initial_params, not both")
        self.resume_state = self.run_state = resume  # not "resume": that is Controls.resume()
        self.options = options
        self.config = project.training
        if options.epochs is not None:  # an explicit epoch count replaces a step limit
            self.config = project.with_training(epochs=options.epochs, max_steps=0).training
        self.dataset = dataset
        self.initial_params = initial_params
        self._commands: queue.Queue[Command] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._path = None  # records the loss surface's path, with options.path_points

    # ------------------------------------------------------------ control (any thread)

    def start(self, paused: bool = False) -> None:
        """Run the session on a daemon thread."""
        if self._thread is not None:
            raise RuntimeError("a session can be started once")
        if paused:
            self.pause()
        self._thread = threading.Thread(target=self.run, name="nnviz-training", daemon=True)
        self._thread.start()

    def _deliver(self, command: Command) -> None:
        self._commands.put(command)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True when it has ended."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ------------------------------------------------------------ messages (training thread)

    def _send(self, msg: Any) -> None:
        if self._path is not None and isinstance(msg, Snapshot):
            self._path.add(msg.step, msg.params)
        self._post(msg)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self._send(StateChanged(state))

    # ------------------------------------------------------------ the run

    def run(self) -> Finished | Failed:
        """Train to the end (or until stopped) in the calling thread; returns the last message."""
        try:
            self.result = self._run()
        except StopRequested:  # stopped before training began
            self.result = Finished("stopped", 0, 0, 0.0, {})
        except (DatasetError, ProjectError) as exc:
            self.result = Failed(str(exc))
        except MemoryError:
            self.result = Failed(
                "Out of memory: try a smaller batch size, fewer units or filters, or a smaller dataset."
            )
        except Exception as exc:  # never let a traceback reach the user; keep it in the log
            log.exception("training failed")
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if "RESOURCE_EXHAUSTED" in str(exc) or "out of memory" in str(exc).lower():
                self.result = Failed("Out of memory: try a smaller batch size or a smaller network.")
            else:
                self.result = Failed(f"Training stopped by an internal error: {text}")
        self._set_state("idle")
        self.trajectory = self._finish_path()
        self._send(self.result)
        return self.result

    def _finish_path(self):
        """The recorded path, without weights that were not finite (a diverging run's last)."""
        if self._path is None:
            return None
        path = self._path.trajectory()
        if len(path):
            keep = np.isfinite(path.thetas).all(axis=1)
            path = type(path)(path.steps[keep], path.thetas[keep])
        return path if len(path) else None

    def _run(self) -> Finished | Failed:
        return TrainingRun(self).execute()

    # ------------------------------------------------------------ helpers (training thread)

    def _cancel_requested(self) -> bool:
        """A stop is waiting (asked during a download); other commands stay queued, in order."""
        with self._commands.mutex:  # a look, not a take: taking and putting back reordered them
            return any(cmd.kind is SessionCommand.STOP for cmd in self._commands.queue)
