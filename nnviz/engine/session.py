"""The training session: one thread that owns every JAX call of a training run.

Commands come in through a queue and are read between chunks of steps; messages go
out through a bounded event buffer, a "latest wins" snapshot mailbox and an optional
callback, so the session never waits for whoever is watching. ``run()`` is the
synchronous mode (tests, CLI); ``start()`` runs the same code on a daemon thread.

Training runs in chunks: K mini-batch steps inside one jitted loop whose step count is
an argument, with the dataset and the epoch's batch order on the device and the batches
gathered inside the jitted code, so Python is visited only once per chunk. K starts at
one and follows the time the calls themselves take, so that a chunk takes about
``chunk_seconds``: long enough to hide Python's overhead, short enough that pause, stop
and the live learning rate answer quickly. Any K runs the same compiled code.
"""

from __future__ import annotations

import collections
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.datasets import Dataset, DatasetError, load_dataset
from ..core.graph import analyze
from ..core.layers import Context
from ..core.optimizers import optimizer
from ..core.project import Project, ProjectError
from .messages import (
    Compiling,
    EpochEnd,
    EvalReport,
    Failed,
    Finished,
    Loading,
    PlaneProbe,
    Progress,
    Snapshot,
    StateChanged,
    drain,
)
from .training import (
    CHUNK_CAP,
    REPORT_SAMPLES,  # noqa: F401  (read from here by the tests of the epoch report)
    batching,
    compiled_steps,
    enable_compilation_cache,
    epoch_orders,
    make_optimizer,
    padded_batches,
)

log = logging.getLogger(__name__)

PATH_BYTES = 32 * 2**20  # at most this much of recorded weights for the loss surface's path

Listener = Callable[[Any], None]


class _Stop(Exception):
    """Raised inside the loop when a stop command arrives."""


@dataclass
class _Command:
    name: str
    value: Any = None


def check_learning_rate(lr: float) -> float:
    """``lr`` as a float; ValueError, written for the user, unless 0 < lr <= 100."""
    lr = float(lr)
    if not (math.isfinite(lr) and 0 < lr <= 100):
        raise ValueError(f"the learning rate must be above 0 and at most 100 (got {lr:g})")
    return lr


def check_speed(steps_per_frame: int | None) -> int | None:
    """Steps per frame as an int, or None (full speed); ValueError unless a whole number >= 1."""
    if steps_per_frame is None:
        return None
    if isinstance(steps_per_frame, bool) or int(steps_per_frame) != steps_per_frame or steps_per_frame < 1:
        raise ValueError(f"steps per frame must be a whole number of at least 1 (got {steps_per_frame!r})")
    return int(steps_per_frame)


class SessionMailbox:
    """What a watcher reads from a session, wherever it trains (a thread, or a child process).

    Small messages queue up in ``events`` (bounded); snapshots go to a "latest wins"
    slot; ``on_message`` sees everything as it is posted. ``_post`` may be called from
    any one thread; ``drain_events`` and ``take_snapshot`` from another.
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
        self.node_types: dict[str, str] = {}
        self.param_count = 0
        self.chunk_steps = 1
        self.trajectory = None  # θ_t of the run when it recorded its path (nnviz.engine.surface.Trajectory)

    @property
    def speed(self) -> int | None:
        """Steps per frame as last set with set_speed (None: full speed)."""
        return self._speed

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
        """Write the final (or last good) weights beside a project; after the run has ended."""
        from .weights import save_weights

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
        *,
        dataset: Dataset | None = None,
        data_dir: str | None = None,
        download: bool = True,
        on_message: Listener | None = None,
        probe_size: int = 32,
        snapshot_interval: float = 0.1,
        progress_interval: float = 0.1,
        chunk_seconds: float = 0.2,
        max_chunk: int = 256,
        initial_params: dict | None = None,
        eval_batch: int = 1000,
        epochs: int | None = None,
        plane_resolution: int = 64,
        frame_seconds: float = 1 / 30,
        path_points: int = 0,
    ) -> None:
        super().__init__(project, on_message)
        self.config = project.training
        if epochs is not None:  # an explicit epoch count replaces a step limit
            self.config = project.with_training(epochs=epochs, max_steps=0).training
        self.dataset = dataset
        self.data_dir = data_dir
        self.download = download
        self.probe_size = probe_size
        self.snapshot_interval = snapshot_interval
        self.progress_interval = progress_interval
        self.chunk_seconds = chunk_seconds
        self.max_chunk = max_chunk
        self.initial_params = initial_params
        self.eval_batch = eval_batch
        self.plane_resolution = plane_resolution
        self.frame_seconds = frame_seconds
        self._commands: queue.Queue[_Command] = queue.Queue()
        self._thread: threading.Thread | None = None
        # With ``path_points``, the weights of every snapshot made (not only those a busy
        # window took) are recorded for the loss surface's path, at most that many
        # points and PATH_BYTES, thinned evenly as the run goes on.
        self.path_points = path_points
        self._path = None

    # ------------------------------------------------------------ control (any thread)

    def start(self, paused: bool = False) -> None:
        """Run the session on a daemon thread."""
        if self._thread is not None:
            raise RuntimeError("a session can be started once")
        if paused:
            self.pause()
        self._thread = threading.Thread(target=self.run, name="nnviz-training", daemon=True)
        self._thread.start()

    def pause(self) -> None:
        self._commands.put(_Command("pause"))

    def resume(self) -> None:
        self._commands.put(_Command("resume"))

    def step(self, n: int = 1) -> None:
        """While paused: train exactly ``n`` mini-batches, then report."""
        self._commands.put(_Command("step", int(n)))

    def stop(self) -> None:
        self._commands.put(_Command("stop"))

    def set_learning_rate(self, lr: float) -> None:
        """Change the learning rate live (no recompilation); ValueError unless 0 < lr <= 100."""
        self._commands.put(_Command("lr", check_learning_rate(lr)))

    def set_speed(self, steps_per_frame: int | None) -> None:
        """Slow motion: at most ``steps_per_frame`` steps per frame, or None for full speed.

        In slow motion the session trains at most that many steps in each frame of
        ``frame_seconds``, sends a Progress and a Snapshot after each frame and waits out
        the rest of it, still answering commands. Takes effect at once, recompiles
        nothing and never changes the result: the same seed gives the same weights at
        any speed. ValueError unless None or a whole number >= 1.
        """
        self._speed = check_speed(steps_per_frame)
        self._commands.put(_Command("speed", self._speed))

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
        except _Stop:  # stopped before training began
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
        self._set_state("running")
        cfg = self.config
        problems = cfg.validate()
        if problems:
            return Failed("The training settings are not valid: " + "; ".join(problems))
        if self.dataset is None:
            self._send(Loading(f"Loading {self.project.dataset.name}"))
            self.dataset = load_dataset(
                self.project.dataset,
                self.data_dir,
                download=self.download,
                progress=lambda name, done, total: self._send(Loading(f"Downloading {name}", done, total)),
                cancel=self._cancel_requested,
            )
        ds = self.dataset
        ctx = Context(tuple(ds.input_shape), ds.n_classes, ds.name)
        network = self.project.network
        analysis = analyze(network, ctx)
        if not analysis.ok:
            return Failed("The network is not valid:\n" + "\n".join(analysis.messages(network)))
        if len(ds.x_train) == 0:
            return Failed(f"The dataset {ds.name} has no training samples.")
        self.param_count = analysis.total_params
        if self.path_points:
            from .surface import TrajectoryRecorder

            points = min(self.path_points, PATH_BYTES // (4 * max(1, self.param_count)))
            self._path = TrajectoryRecorder(points) if points >= 4 else None

        self._send(Compiling("building the model"))
        enable_compilation_cache()
        import jax
        import jax.numpy as jnp
        from flax import nnx

        from .model import build_model
        from .weights import check_compatible

        model = build_model(network, analysis, ctx, init=cfg.init, seed=cfg.seed)
        graphdef, state = nnx.split(model)
        params = nnx.to_pure_dict(state)
        head = model.head
        self.node_types = {nid: network.nodes[nid].type for nid in params.get("layers", {})}
        if self.initial_params is not None:
            layers = params.get("layers", {})  # absent when no node has weights
            expected = {nid: {k: v.shape for k, v in p.items()} for nid, p in layers.items()}
            saved, saved_types = self.initial_params
            check_compatible(
                saved,
                saved_types,
                expected,
                self.node_types,
                {n.id: n.name for n in network.nodes.values()},
                "the saved weights",
            )
            if layers:
                params = {
                    "layers": {nid: {k: jnp.asarray(saved[nid][k]) for k in p} for nid, p in layers.items()}
                }
        layer_ids = list(params.get("layers", {}))

        tx = make_optimizer(cfg.optimizer, cfg.learning_rate, cfg.momentum)
        opt_state = tx.init(params)
        steps = compiled_steps(
            graphdef, head, cfg.optimizer, float(cfg.momentum), float(cfg.l1), float(cfg.l2), tuple(layer_ids)
        )
        train_steps, eval_all, probe = steps.train_steps, steps.eval_all, steps.probe

        # ---- data on the device
        x_train = jnp.asarray(ds.x_train)
        y_train = jnp.asarray(ds.y_train, dtype=jnp.int32)
        n_train = len(ds.x_train)
        batch, steps_per_epoch = batching(n_train, cfg.batch_size)
        total_steps = cfg.epochs * steps_per_epoch
        if cfg.max_steps:
            total_steps = cfg.max_steps
        n_epochs = math.ceil(total_steps / steps_per_epoch)
        eval_sets = {
            "val": self._eval_arrays(ds.x_val, ds.y_val),
            "test": self._eval_arrays(ds.x_test, ds.y_test),
        }
        probe_src = (ds.x_test, ds.y_test) if len(ds.x_test) else (ds.x_train, ds.y_train)
        probe_x = np.asarray(probe_src[0][: self.probe_size])
        probe_y = np.asarray(probe_src[1][: self.probe_size]).astype(np.int32)
        probe_xj, probe_yj = jnp.asarray(probe_x), jnp.asarray(probe_y)

        # The epoch-end report looks at the test split, else the validation split.
        report_split = (
            "test" if eval_sets["test"] is not None else ("val" if eval_sets["val"] is not None else None)
        )

        def evaluate(p, which, report_at=None):
            """(loss, accuracy) on a split; with ``report_at=(epoch, step)`` also its EvalReport."""
            arrays = eval_sets[which]
            if arrays is None:
                return math.nan, math.nan, None
            xs, ys, masks, n = arrays
            tot_loss, tot_ok, parts = eval_all(p, xs, ys, masks)
            if report_at is None:
                tot_loss, tot_ok = jax.device_get((tot_loss, tot_ok))
                return float(tot_loss) / n, float(tot_ok) / n, None
            tot_loss, tot_ok, parts = jax.device_get((tot_loss, tot_ok, parts))  # one sync
            confusion, idx, wrong, y, pred, probs, x = parts
            keep = np.asarray(wrong, bool)  # fewer than REPORT_SAMPLES wrong: the rest are right ones
            report = EvalReport(
                which,
                report_at[0],
                report_at[1],
                np.asarray(confusion, np.int64),
                np.asarray(idx, np.int64)[keep],
                np.array(x[keep]),
                np.asarray(y, np.int64)[keep],
                np.asarray(pred, np.int64)[keep],
                np.asarray(probs, np.float32)[keep],
            )
            return float(tot_loss) / n, float(tot_ok) / n, report

        def lr_of(o) -> float:
            return float(o.hyperparams["learning_rate"])

        plane = None
        if tuple(ds.input_shape) == (2,):  # 2D data: also probe a grid over the input plane
            everything = np.concatenate([ds.x_train, ds.x_test])
            lo, hi = everything.min(axis=0), everything.max(axis=0)
            pad = 0.1 * np.maximum(hi - lo, 1e-6)
            gx = np.linspace(lo[0] - pad[0], hi[0] + pad[0], self.plane_resolution, dtype=np.float32)
            gy = np.linspace(lo[1] - pad[1], hi[1] + pad[1], self.plane_resolution, dtype=np.float32)
            mx, my = np.meshgrid(gx, gy)  # rows along y
            plane = (
                gx,
                gy,
                jnp.asarray(np.stack([mx.ravel(), my.ravel()], axis=1)),
                jnp.zeros(mx.size, jnp.int32),
            )
        hidden = [
            nid
            for nid in analysis.order
            if network.nodes[nid].type in ("Dense", "Activation", "Add", "Concatenate")
        ]

        def plane_probe(p):
            """The network over the input plane, still on the device (None without 2D data)."""
            if plane is None:
                return None
            _, _, points, zeros = plane
            nodes, probs, _ = probe(p, points, zeros)
            return {nid: nodes[nid] for nid in hidden}, probs

        shown_step = -1  # the step of the newest snapshot
        probes_back = 0.0  # when the newest snapshot's probes came back from the device

        def start_snapshot(p, o, norms):
            """Start the probes of a snapshot: what ``send_snapshot`` fetches, still on the device.

            The snapshot interval counts from here: counted from the send, which may wait
            behind a chunk started ahead, every other chunk would go unshown.
            """
            nonlocal last_snapshot
            last_snapshot = time.perf_counter()
            nodes, probs, loss = probe(p, probe_xj, probe_yj)
            return {
                "nodes": nodes,
                "probs": probs,
                "loss": loss,
                "layers": p.get("layers", {}),
                "norms": norms,
                "lr": o.hyperparams["learning_rate"],
                "plane": plane_probe(p),
            }

        def snapshot(p, o, norms, step, epoch):
            send_snapshot(start_snapshot(p, o, norms), step, epoch)

        def send_snapshot(started, step, epoch):
            nonlocal shown_step, probes_back
            shown_step = step
            norms = started["norms"]
            # One transfer for everything instead of a wait per array (each one gives the GIL
            # up and waits to get it back, behind the GUI thread when a window is open).
            h = jax.device_get(started)
            probes_back = time.perf_counter()
            plane_np = None
            if h["plane"] is not None:
                g = len(plane[0])
                plane_nodes, plane_probs = h["plane"]
                plane_np = PlaneProbe(
                    plane[0],
                    plane[1],
                    np.asarray(plane_probs).reshape(g, g, -1),
                    {nid: np.asarray(v).reshape(g, g, -1) for nid, v in plane_nodes.items()},
                )
            self._send(
                Snapshot(
                    step=step,
                    epoch=epoch,
                    probe_x=probe_x,
                    probe_y=probe_y,
                    activations={k: np.asarray(v) for k, v in h["nodes"].items()},
                    params={
                        nid: {k: np.asarray(v) for k, v in lp.items()} for nid, lp in h["layers"].items()
                    },
                    grad_norms={nid: float(v) for nid, v in zip(layer_ids, h["norms"])}
                    if norms is not None
                    else {},
                    probabilities=np.asarray(h["probs"]),
                    loss=float(h["loss"]),
                    learning_rate=float(h["lr"]),
                    plane=plane_np,
                )
            )

        # ---- the loop
        orders = epoch_orders(cfg.seed, n_train, batch)
        key = jax.random.PRNGKey(cfg.seed)
        step = 0
        t_start = time.perf_counter()
        train_seconds = 0.0
        norms = None
        good = (params, opt_state)  # the weights after the last chunk whose losses were finite
        # ``losses[i]`` of a chunk is the loss of the weights *before* its i-th update, so
        # a chunk's final weights are only known good once the next chunk's first loss
        # is finite. These are the newest weights whose own loss was seen to be finite.
        verified_params, verified_step = params, 0
        epoch_losses: list[float] = []
        epoch_accs: list[float] = []
        since_losses: list[np.ndarray] = []
        since_accs: list[np.ndarray] = []
        last_progress = last_snapshot = 0.0
        max_chunk = int(np.clip(self.max_chunk, 1, CHUNK_CAP))
        chunk = 1  # steps per call at full speed: grows (at most doubling) until a call takes chunk_seconds
        calls = 0
        ahead = None  # a chunk started and not yet collected
        paused = False
        epoch = 1
        order = jnp.zeros((1, batch), jnp.int32)  # this epoch's batches, on the device
        pos = 0

        self._send(Compiling(f"{optimizer(cfg.optimizer).title} training step"))
        snapshot(params, opt_state, None, 0, 1)
        for which in eval_sets:  # compile evaluation now, not in the middle of epoch 1
            evaluate(params, which)

        def dispatch(n, p, o, key):
            """Start ``n`` steps from ``pos``: JAX returns at once, the results come later."""
            return (
                n,
                time.perf_counter(),
                train_steps(p, o, key, x_train, y_train, order, np.int32(pos), np.int32(n)),
            )

        def collect(call):
            """Wait for a chunk: its results, its wall time since it could start, whether it was done already."""
            n, t0, (p, o, key, losses, accs, nrm) = call
            waited = not losses.is_ready()
            losses_np, accs_np = jax.device_get((losses, accs))  # waits for the chunk
            # A chunk started ahead queued behind the snapshot's probes: it could not
            # start before they came back.
            dt = time.perf_counter() - max(t0, probes_back)
            return p, o, key, np.asarray(losses_np)[:n], np.asarray(accs_np)[:n], nrm, dt, waited

        def emit_progress(now):
            nonlocal since_losses, since_accs, last_progress
            if not since_losses:
                return
            ls, ac = np.concatenate(since_losses), np.concatenate(since_accs)
            since_losses, since_accs = [], []
            sps = (len(ls) * batch) / max(now - last_progress, 1e-9) if last_progress else 0.0
            last_progress = now
            self._send(
                Progress(
                    step,
                    epoch,
                    min(1.0, pos / steps_per_epoch),
                    total_steps,
                    float(ls.mean()),
                    float(ac.mean()),
                    lr_of(opt_state),
                    sps,
                )
            )

        pending_steps = 0  # single steps asked for while paused
        speed: int | None = None  # steps per frame in slow motion; None: full speed
        frame_start: float | None = None  # when the current slow-motion frame began
        frame_steps = 0  # steps trained in it

        def handle(cmd: _Command) -> None:
            nonlocal paused, pending_steps, speed, frame_start, frame_steps
            if cmd.name == "stop":
                raise _Stop
            if cmd.name == "pause":
                # Show and report the steps trained since the last snapshot and Progress
                # first: a paused window shows the step it really stopped at, and a Step
                # counts on from it.
                if shown_step != step:
                    snapshot(params, opt_state, norms, step, epoch)
                emit_progress(time.perf_counter())
                paused = True
                self._set_state("paused")
            elif cmd.name == "resume":
                paused, pending_steps = False, 0
                self._set_state("running")
            elif cmd.name == "lr":
                opt_state.hyperparams["learning_rate"] = jnp.asarray(cmd.value, dtype=jnp.float32)
            elif cmd.name == "step" and paused:  # while running there is nothing to step
                pending_steps += max(0, cmd.value)
            elif cmd.name == "speed":
                speed, frame_start, frame_steps = cmd.value, None, 0

        def wait_for_frame_end() -> None:
            """Wait out the slow-motion frame, applying commands as they come."""
            while speed is not None and not paused and frame_start is not None:
                left = frame_start + self.frame_seconds - time.perf_counter()
                if left <= 0:
                    return
                try:
                    handle(self._commands.get(timeout=left))
                except queue.Empty:
                    return

        def next_command_wait() -> None:
            """Apply every queued command; while paused with nothing to do, wait for one."""
            while True:
                try:
                    handle(self._commands.get(block=paused and pending_steps == 0))
                except queue.Empty:
                    return
                if not (paused and pending_steps == 0) and self._commands.empty():
                    return

        stopped = False
        try:
            for epoch in range(1, n_epochs + 1):
                order = jnp.asarray(next(orders))
                pos = 0
                epoch_losses, epoch_accs = [], []
                t_epoch = 0.0
                while pos < steps_per_epoch and step < total_steps:
                    if ahead is not None:  # started while the last chunk was reported
                        call, ahead, slow = ahead, None, False
                        n = call[0]
                    else:
                        next_command_wait()
                        slow = speed is not None and not paused
                        if slow and frame_steps >= speed:  # this frame's steps are done: show them, wait
                            emit_progress(time.perf_counter())
                            if shown_step != step:  # an epoch's end may just have shown it
                                snapshot(params, opt_state, norms, step, epoch)
                            wait_for_frame_end()
                            frame_start, frame_steps = None, 0
                            continue  # commands may have come in meanwhile
                        left = min(steps_per_epoch - pos, total_steps - step)
                        if slow:  # slow motion: never more than the frame has room for
                            left = min(left, speed - frame_steps)
                            if frame_start is None:
                                frame_start = time.perf_counter()
                        # One step while paused; else a chunk, or what is left of the epoch
                        # (or of a slow-motion frame): the same compiled loop takes any length.
                        n = 1 if paused else min(chunk, left)
                        if paused:
                            pending_steps -= 1
                        call = dispatch(n, params, opt_state, key)
                    p0, o0 = params, opt_state
                    params, opt_state, key, losses, accs, norms, dt, waited = collect(call)
                    calls += 1
                    if n == chunk and calls > 1 and not paused:  # the first call compiles
                        # Grow towards chunk_seconds a call, at most doubling, as a short
                        # call's time is mostly overhead; shrink at once if a call was long.
                        # A chunk that was done before it was looked for was timed with the
                        # report made meanwhile, not its own work: the device waited on the
                        # report, so a longer chunk costs nothing and it may grow.
                        ideal = self.chunk_seconds * n / max(dt, 1e-6) if waited else math.inf
                        chunk = int(np.clip(ideal, 1, min(2 * n, max_chunk)))
                        self.chunk_steps = chunk
                    if not np.all(np.isfinite(losses)):
                        bad = int(np.argmin(np.isfinite(losses)))
                        # The chunk's starting weights are good only if their loss (the
                        # first) was finite; else fall back to the last verified ones.
                        kept, kept_step = (p0, step) if bad > 0 else (verified_params, verified_step)
                        params, opt_state = kept, o0
                        self.final_params = self._to_numpy(params)
                        return Failed(
                            f"The loss became {'NaN' if np.isnan(losses[bad]) else 'infinite'} "
                            f"at step {step + 1 + bad}: training diverged, "
                            f"probably because the learning rate ({lr_of(opt_state):g}) is too high. "
                            f"Training stopped; the weights from step {kept_step} are kept.",
                            kept_step,
                        )
                    verified_params, verified_step = p0, step  # its loss, losses[0], was finite
                    good = (params, opt_state)
                    step += n
                    pos += n
                    t_epoch += dt
                    train_seconds += dt
                    epoch_losses.append(losses)
                    epoch_accs.append(accs)
                    since_losses.append(losses)
                    since_accs.append(accs)
                    if slow:
                        frame_steps += n
                        continue  # reported when the frame is full or the epoch ends
                    now = time.perf_counter()
                    started = None
                    if paused or now - last_snapshot >= self.snapshot_interval:
                        started = start_snapshot(params, opt_state, norms)
                    # Start the next chunk (behind the snapshot's probes) before this one is
                    # reported, so the computation never waits for the Python below; not
                    # past the epoch, nor past a command, which is read before the chunk after.
                    left = min(steps_per_epoch - pos, total_steps - step)
                    if not paused and left > 0 and self._commands.empty():
                        ahead = dispatch(min(chunk, left), params, opt_state, key)
                    # The snapshot first: whoever sees a step's Progress (a Step's, say)
                    # finds its snapshot already there.
                    if started is not None:
                        send_snapshot(started, step, epoch)
                    if paused or now - last_progress >= self.progress_interval:
                        emit_progress(now)
                emit_progress(time.perf_counter())
                self._epoch_end(
                    epoch, step, epoch_losses, epoch_accs, t_epoch, params, evaluate, report_split
                )
                snapshot(params, opt_state, norms, step, epoch)
        except _Stop:
            stopped = True
            params, opt_state = good
        self._set_state("stopping" if stopped else "running")
        self.final_params = self._to_numpy(params)
        metrics = self._final_metrics(params, evaluate, epoch_losses, epoch_accs, stopped, step, epoch)
        metrics["seconds"] = time.perf_counter() - t_start
        metrics["train_seconds"] = train_seconds
        return Finished("stopped" if stopped else "completed", step, epoch, metrics["seconds"], metrics)

    # ------------------------------------------------------------ helpers (training thread)

    def _cancel_requested(self) -> bool:
        """A stop is waiting (asked during a download); other commands stay queued, in order."""
        with self._commands.mutex:  # a look, not a take: taking and putting back reordered them
            return any(cmd.name == "stop" for cmd in self._commands.queue)

    def _eval_arrays(self, x: np.ndarray, y: np.ndarray):
        """A split as equal padded batches with masks, and its size; None when it is empty."""
        if len(x) == 0:
            return None
        return (*padded_batches(x, y, min(self.eval_batch, len(x))), len(x))

    def _epoch_end(self, epoch, step, losses, accs, seconds, params, evaluate, report_split) -> None:
        tl = float(np.concatenate(losses).mean()) if losses else math.nan
        ta = float(np.concatenate(accs).mean()) if accs else math.nan
        at = (epoch, step)
        vl, va, vr = evaluate(params, "val", at if report_split == "val" else None)
        sl, sa, sr = evaluate(params, "test", at if report_split == "test" else None)
        msg = EpochEnd(epoch, step, tl, ta, vl, va, sl, sa, seconds, vr or sr)
        self.history.append(msg)
        self._send(msg)

    def _final_metrics(self, params, evaluate, losses, accs, stopped, step, epoch) -> dict[str, float]:
        if self.history and not stopped and self.history[-1].step == step:
            last = self.history[-1]
            tl, ta, vl, va, sl, sa = (
                last.train_loss,
                last.train_accuracy,
                last.val_loss,
                last.val_accuracy,
                last.test_loss,
                last.test_accuracy,
            )
        else:
            tl = float(np.concatenate(losses).mean()) if losses else math.nan
            ta = float(np.concatenate(accs).mean()) if accs else math.nan
            vl, va, _ = evaluate(params, "val")
            sl, sa, _ = evaluate(params, "test")
        return {
            "train_loss": tl,
            "train_accuracy": ta,
            "val_loss": vl,
            "val_accuracy": va,
            "test_loss": sl,
            "test_accuracy": sa,
            "steps": step,
            "epochs": epoch,
            "params": self.param_count,
        }

    @staticmethod
    def _to_numpy(params) -> dict[str, dict[str, np.ndarray]]:
        return {
            nid: {k: np.asarray(v) for k, v in lp.items()} for nid, lp in params.get("layers", {}).items()
        }
