"""One run of a TrainingSession, on the thread that owns its JAX calls.

``TrainingRun(session).execute()`` checks the settings, loads the data, builds the model
and trains it, reading the session's commands between chunks and sending its messages
through the session. What the run knows as it goes (the weights, the step, the epoch's
losses, the slow-motion frame, the chunk started ahead) lives in its attributes.

Training runs in chunks: K mini-batch steps inside one jitted loop whose step count is
an argument, with the dataset and the epoch's batch order on the device and the batches
gathered inside the jitted code, so Python is visited only once per chunk. K follows the
time the calls themselves take (``ChunkSizer``); any K runs the same compiled code, so
the weights do not depend on it. While one chunk is reported the next one already
trains: it is started before the report is made.

JAX is imported when a run starts, not with this module.
"""

from __future__ import annotations

import math
import queue
import time
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..core.datasets import load_dataset
from ..core.graph import analyze
from ..core.layers import Context, LayerType, Role
from ..core.optimizers import optimizer
from .chunking import ChunkSizer
from .commands import Command, SessionCommand
from .divergence import DivergenceWatch, divergence_message
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
)
from .surface.trajectory import TrajectoryRecorder
from .training import (
    CHUNK_CAP,
    batching,
    compiled_steps,
    enable_compilation_cache,
    epoch_orders,
    key_after,
    make_optimizer,
    padded_batches,
)
from .weights import RunState, WeightsError

if TYPE_CHECKING:
    from .session import TrainingSession

PATH_BYTES = 32 * 2**20  # at most this much of recorded weights for the loss surface's path


class StopRequested(Exception):
    """Raised inside the loop when a stop command arrives."""


class _Call(NamedTuple):
    """A chunk dispatched to the device and not yet collected."""

    n: int  # its steps
    started: float  # when it was dispatched (the sizer's clock)
    results: tuple  # train_steps' outputs, still on the device


def _drawn_over_plane(layer: LayerType) -> bool:
    """Whether the decision plane's probe keeps a node's values: the hidden nodes that make new ones.

    Those are flat (not sliding over an image) and learn weights, apply an activation or
    merge inputs: Dense, Activation, Add, Concatenate today. Nodes that only pass values
    on (Dropout, Flatten), the input and the output are left out.
    """
    return not layer.spatial and (
        layer.has_weights or layer.activation_param is not None or layer.role is Role.MERGE
    )


class TrainingRun:
    """Trains a session's project once; ``execute()`` returns its Finished or Failed."""

    def __init__(self, session: TrainingSession) -> None:
        self.session = session
        self.options = session.options
        self.cfg = session.config

    # ------------------------------------------------------------ the whole run

    def execute(self) -> Finished | Failed:
        session = self.session
        session._set_state("running")
        failed = self._prepare()
        if failed is not None:
            return failed
        self._build()
        self._start_loop()
        stopped = False
        try:
            # A resumed run goes on in the epoch it stopped in; one whose target is
            # reached already trains nothing (its first snapshot showed its weights).
            first = self.step // self.steps_per_epoch + 1
            for epoch in range(first, self.n_epochs + 1) if self.step < self.total_steps else ():
                self.epoch = epoch
                failed = self._train_epoch()
                if failed is not None:
                    return failed
        except StopRequested:
            stopped = True
            self.params, self.opt_state = self.good
        session._set_state("stopping" if stopped else "running")
        session.final_params = self._to_numpy(self.params)
        session.run_state = self._run_state(self.params, self.opt_state, self.step)
        metrics = self._final_metrics(stopped)
        metrics["seconds"] = time.perf_counter() - self.t_start
        metrics["train_seconds"] = self.train_seconds
        return Finished(
            "stopped" if stopped else "completed", self.step, self.epoch, metrics["seconds"], metrics
        )

    # ------------------------------------------------------------ before training

    def _prepare(self) -> Failed | None:
        """Check the settings, load the data and analyse the network; a Failed when one of them cannot go on."""
        session, cfg = self.session, self.cfg
        problems = cfg.validate()
        if problems:
            return Failed("The training settings are not valid: " + "; ".join(problems))
        if session.dataset is None:
            session._send(Loading(f"Loading {session.project.dataset.name}"))
            session.dataset = load_dataset(
                session.project.dataset,
                self.options.data_dir,
                download=self.options.download,
                progress=lambda name, done, total: session._send(Loading(f"Downloading {name}", done, total)),
                cancel=session._cancel_requested,
            )
        ds = self.ds = session.dataset
        self.ctx = Context(tuple(ds.input_shape), ds.n_classes, ds.name)
        network = self.network = session.project.network
        analysis = self.analysis = analyze(network, self.ctx)
        if not analysis.ok:
            return Failed("The network is not valid:\n" + "\n".join(analysis.messages(network)))
        if len(ds.x_train) == 0:
            return Failed(f"The dataset {ds.name} has no training samples.")
        session.param_count = analysis.total_params
        if self.options.path_points:
            points = min(self.options.path_points, PATH_BYTES // (4 * max(1, session.param_count)))
            session._path = TrajectoryRecorder(points) if points >= 4 else None
        return None

    def _build(self) -> None:
        """The model, the optimizer, the compiled steps and the data on the device."""
        session, cfg, ds, network = self.session, self.cfg, self.ds, self.network
        session._send(Compiling("building the model"))
        enable_compilation_cache()
        import jax.numpy as jnp
        from flax import nnx

        from .model import build_model
        from .weights import check_fits, training_fingerprint

        model = build_model(network, self.analysis, self.ctx, init=cfg.init, seed=cfg.seed)
        graphdef, state = nnx.split(model)
        params = nnx.to_pure_dict(state)
        session.node_types = {nid: network.nodes[nid].type for nid in params.get("layers", {})}
        self.fingerprint = training_fingerprint(session.project)
        resume = session.resume_state
        if resume is not None and resume.fingerprint != self.fingerprint:
            raise WeightsError(
                "The saved run cannot continue with this project: it was trained "
                + (
                    "without the state a run needs to go on (weights only)"
                    if not resume.fingerprint
                    else "with another network, dataset or training settings (only the learning "
                    "rate, the epochs and the step limit may change)"
                )
                + ". Reset to train this project from the start."
            )
        given = (resume.params, resume.node_types) if resume is not None else session.initial_params
        if given is not None:
            layers = params.get("layers", {})  # absent when no node has weights
            expected = {nid: {k: v.shape for k, v in p.items()} for nid, p in layers.items()}
            check_fits(
                *given, expected, network, "the saved run" if resume is not None else "the saved weights"
            )
            if layers:
                params = {
                    "layers": {
                        nid: {k: jnp.asarray(given[0][nid][k]) for k in p} for nid, p in layers.items()
                    }
                }
        self.params = params
        self.layer_ids = list(params.get("layers", {}))

        tx = make_optimizer(cfg.optimizer, cfg.learning_rate, cfg.momentum)
        self.opt_state = tx.init(params)
        if resume is not None:
            self.opt_state = self._restored_opt_state(resume)
        self.fns = compiled_steps(
            graphdef,
            model.head,
            cfg.optimizer,
            float(cfg.momentum),
            float(cfg.l1),
            float(cfg.l2),
            tuple(self.layer_ids),
        )

        # ---- data on the device
        self.x_train = jnp.asarray(ds.x_train)
        self.y_train = jnp.asarray(ds.y_train, dtype=jnp.int32)
        self.n_train = len(ds.x_train)
        self.batch, self.steps_per_epoch = batching(self.n_train, cfg.batch_size)
        self.total_steps = cfg.epochs * self.steps_per_epoch
        if cfg.max_steps:
            self.total_steps = cfg.max_steps
        self.n_epochs = math.ceil(self.total_steps / self.steps_per_epoch)
        self.eval_sets = {
            "val": self._eval_arrays(ds.x_val, ds.y_val),
            "test": self._eval_arrays(ds.x_test, ds.y_test),
        }
        probe_src = (ds.x_test, ds.y_test) if len(ds.x_test) else (ds.x_train, ds.y_train)
        self.probe_x = np.asarray(probe_src[0][: self.options.probe_size])
        self.probe_y = np.asarray(probe_src[1][: self.options.probe_size]).astype(np.int32)
        self.probe_xj, self.probe_yj = jnp.asarray(self.probe_x), jnp.asarray(self.probe_y)
        # The epoch-end report looks at the test split, else the validation split.
        self.report_split = (
            "test"
            if self.eval_sets["test"] is not None
            else ("val" if self.eval_sets["val"] is not None else None)
        )

        self.plane = None
        if tuple(ds.input_shape) == (2,):  # 2D data: also probe a grid over the input plane
            everything = np.concatenate([ds.x_train, ds.x_test])
            lo, hi = everything.min(axis=0), everything.max(axis=0)
            pad = 0.1 * np.maximum(hi - lo, 1e-6)
            gx = np.linspace(lo[0] - pad[0], hi[0] + pad[0], self.options.plane_resolution, dtype=np.float32)
            gy = np.linspace(lo[1] - pad[1], hi[1] + pad[1], self.options.plane_resolution, dtype=np.float32)
            mx, my = np.meshgrid(gx, gy)  # rows along y
            self.plane = (
                gx,
                gy,
                jnp.asarray(np.stack([mx.ravel(), my.ravel()], axis=1)),
                jnp.zeros(mx.size, jnp.int32),
            )
        self.hidden = [nid for nid in self.analysis.order if _drawn_over_plane(network.nodes[nid].layer)]

    def _start_loop(self) -> None:
        """The loop's state at step 0; the first snapshot, and evaluation compiled now, not in epoch 1."""
        import jax.numpy as jnp

        session, cfg = self.session, self.cfg
        self.orders = epoch_orders(cfg.seed, self.n_train, self.batch)
        self.step = self._resume_position()
        completed, self.resume_pos = divmod(self.step, self.steps_per_epoch)
        for _ in range(completed):  # the epochs done already drew their batches: draw them again
            next(self.orders)
        self.key = key_after(cfg.seed, self.step)
        self.epoch = completed + 1 if self.resume_pos or not completed else completed
        self.t_start = time.perf_counter()
        self.train_seconds = 0.0
        self.norms = None  # the last chunk's gradient norms, on the device
        self.good = (self.params, self.opt_state)  # the weights after the last chunk whose losses were finite
        # NaN, inf or a loss grown far beyond its start; it keeps the newest state still fine.
        self.divergence = DivergenceWatch((self.params, self.opt_state, self.step))
        # ``losses[i]`` of a chunk is the loss of the weights *before* its i-th update, so
        # a chunk's final weights are only known good once the next chunk's first loss
        # is finite. These are the newest weights whose own loss was seen to be finite.
        self.verified_params, self.verified_step = self.params, self.step
        self.epoch_losses: list[np.ndarray] = []
        self.epoch_accs: list[np.ndarray] = []
        self.t_epoch = 0.0
        self.since_losses: list[np.ndarray] = []  # since the last Progress
        self.since_accs: list[np.ndarray] = []
        self.last_progress = self.last_snapshot = 0.0
        self.shown_step = -1  # the step of the newest snapshot
        self.sizer = ChunkSizer(
            self.options.chunk_seconds, int(np.clip(self.options.max_chunk, 1, CHUNK_CAP))
        )
        self.ahead: _Call | None = None  # a chunk started and not yet collected
        self.paused = False
        self.pending_steps = 0  # single steps asked for while paused
        self.speed: int | None = None  # steps per frame in slow motion; None: full speed
        self.frame_start: float | None = None  # when the current slow-motion frame began
        self.frame_steps = 0  # steps trained in it
        self.order = jnp.zeros((1, self.batch), jnp.int32)  # this epoch's batches, on the device
        self.pos = 0  # the next batch of the epoch

        session._send(Compiling(f"{optimizer(cfg.optimizer).title} training step"))
        self.snapshot()
        for which in self.eval_sets:
            self.evaluate(self.params, which)

    # ------------------------------------------------------------ the loop

    def _train_epoch(self) -> Failed | None:
        """Train epoch ``self.epoch`` to its end (or the step limit), then report it; a Failed if it diverged."""
        import jax.numpy as jnp

        self.order = jnp.asarray(next(self.orders))
        self.pos, self.resume_pos = self.resume_pos, 0  # mid-epoch only in a resumed run's first epoch
        self.epoch_losses, self.epoch_accs = [], []
        self.t_epoch = 0.0
        while self.pos < self.steps_per_epoch and self.step < self.total_steps:
            if self.ahead is not None:  # started while the last chunk was reported
                call, self.ahead, slow = self.ahead, None, False
            else:
                self._next_command_wait()
                slow = self.speed is not None and not self.paused
                if slow and self.frame_steps >= self.speed:  # this frame's steps are done: show them, wait
                    self._emit_progress(time.perf_counter())
                    if self.shown_step != self.step:  # an epoch's end may just have shown it
                        self.snapshot()
                    self._wait_for_frame_end()
                    self.frame_start, self.frame_steps = None, 0
                    continue  # commands may have come in meanwhile
                left = self._steps_left()
                if slow:  # slow motion: never more than the frame has room for
                    left = min(left, self.speed - self.frame_steps)
                    if self.frame_start is None:
                        self.frame_start = time.perf_counter()
                # One step while paused; else a chunk, or what is left of the epoch (or
                # of a slow-motion frame): the same compiled loop takes any length.
                n = 1 if self.paused else min(self.sizer.chunk, left)
                if self.paused:
                    self.pending_steps -= 1
                call = self._dispatch(n)
            failed = self._take(call)
            if failed is not None:
                return failed
            if slow:
                self.frame_steps += call.n
                continue  # reported when the frame is full or the epoch ends
            self._report_and_go_on()
        self._emit_progress(time.perf_counter())
        self._epoch_end()
        self.snapshot()
        return None

    def _steps_left(self) -> int:
        """Steps the next call may take: to the epoch's end or the step limit."""
        return min(self.steps_per_epoch - self.pos, self.total_steps - self.step)

    def _dispatch(self, n: int) -> _Call:
        """Start ``n`` steps from ``pos``: JAX returns at once, the results come later."""
        started = self.sizer.started()
        results = self.fns.train_steps(
            self.params,
            self.opt_state,
            self.key,
            self.x_train,
            self.y_train,
            self.order,
            np.int32(self.pos),
            np.int32(n),
        )
        return _Call(n, started, results)

    def _take(self, call: _Call) -> Failed | None:
        """Wait for a chunk and take its weights and losses; a Failed if its losses were not finite."""
        import jax

        n = call.n
        p, o, key, losses, accs, norms = call.results
        waited = not losses.is_ready()
        losses_np, accs_np = jax.device_get((losses, accs))  # waits for the chunk
        dt = self.sizer.finished(n, call.started, waited, resize=not self.paused)
        self.session.chunk_steps = self.sizer.chunk
        losses, accs = np.asarray(losses_np)[:n], np.asarray(accs_np)[:n]
        p0, o0 = self.params, self.opt_state
        self.params, self.opt_state, self.key, self.norms = p, o, key, norms
        bad = self.divergence.observe(losses, (p0, o0, self.step))
        if bad is not None:
            return self._diverged(losses, bad)
        self.verified_params, self.verified_step = p0, self.step  # its loss, losses[0], was finite
        self.good = (self.params, self.opt_state)
        self.step += n
        self.pos += n
        self.t_epoch += dt
        self.train_seconds += dt
        self.epoch_losses.append(losses)
        self.epoch_accs.append(accs)
        self.since_losses.append(losses)
        self.since_accs.append(accs)
        return None

    def _diverged(self, losses: np.ndarray, bad: int) -> Failed:
        """A chunk's loss diverged at ``bad``: keep the newest weights known good, and say why training stopped."""
        # The newest weights whose own loss was finite and not grown, with their optimizer state.
        kept, kept_opt, kept_step = self.divergence.good
        self.params, self.opt_state = kept, kept_opt
        self.session.final_params = self._to_numpy(self.params)
        self.session.run_state = self._run_state(kept, kept_opt, kept_step)
        return Failed(
            divergence_message(
                losses, bad, self.step + 1 + bad, self.divergence.start, self._lr_of(kept_opt), kept_step
            ),
            kept_step,
        )

    def _report_and_go_on(self) -> None:
        """After a chunk at full speed (or a single step): start the next one, then report this one."""
        now = time.perf_counter()
        started = None
        if self.paused or now - self.last_snapshot >= self.options.snapshot_interval:
            started = self._start_snapshot()
        # Start the next chunk (behind the snapshot's probes) before this one is
        # reported, so the computation never waits for the Python below; not past the
        # epoch, nor past a command, which is read before the chunk after.
        left = self._steps_left()
        if not self.paused and left > 0 and self.session._commands.empty():
            self.ahead = self._dispatch(min(self.sizer.chunk, left))
        # The snapshot first: whoever sees a step's Progress (a Step's, say) finds its
        # snapshot already there.
        if started is not None:
            self._send_snapshot(started)
        if self.paused or now - self.last_progress >= self.options.progress_interval:
            self._emit_progress(now)

    # ------------------------------------------------------------ commands

    def _handle(self, cmd: Command) -> None:
        kind = cmd.kind
        if kind is SessionCommand.STOP:
            raise StopRequested
        if kind is SessionCommand.PAUSE:
            # Show and report the steps trained since the last snapshot and Progress
            # first: a paused window shows the step it really stopped at, and a Step
            # counts on from it.
            if self.shown_step != self.step:
                self.snapshot()
            self._emit_progress(time.perf_counter())
            self.paused = True
            self.session._set_state("paused")
        elif kind is SessionCommand.RESUME:
            self.paused, self.pending_steps = False, 0
            self.session._set_state("running")
        elif kind is SessionCommand.LEARNING_RATE:
            import jax.numpy as jnp

            self.opt_state.hyperparams["learning_rate"] = jnp.asarray(cmd.value, dtype=jnp.float32)
        elif kind is SessionCommand.STEP and self.paused:  # while running there is nothing to step
            self.pending_steps += max(0, cmd.value)
        elif kind is SessionCommand.SPEED:
            self.speed, self.frame_start, self.frame_steps = cmd.value, None, 0

    def _wait_for_frame_end(self) -> None:
        """Wait out the slow-motion frame, applying commands as they come."""
        commands = self.session._commands
        while self.speed is not None and not self.paused and self.frame_start is not None:
            left = self.frame_start + self.options.frame_seconds - time.perf_counter()
            if left <= 0:
                return
            try:
                self._handle(commands.get(timeout=left))
            except queue.Empty:
                return

    def _next_command_wait(self) -> None:
        """Apply every queued command; while paused with nothing to do, wait for one."""
        commands = self.session._commands
        while True:
            try:
                self._handle(commands.get(block=self.paused and self.pending_steps == 0))
            except queue.Empty:
                return
            if not (self.paused and self.pending_steps == 0) and commands.empty():
                return

    # ------------------------------------------------------------ messages

    def _emit_progress(self, now: float) -> None:
        if not self.since_losses:
            return
        ls, ac = np.concatenate(self.since_losses), np.concatenate(self.since_accs)
        self.since_losses, self.since_accs = [], []
        sps = (len(ls) * self.batch) / max(now - self.last_progress, 1e-9) if self.last_progress else 0.0
        self.last_progress = now
        self.session._send(
            Progress(
                self.step,
                self.epoch,
                min(1.0, self.pos / self.steps_per_epoch),
                self.total_steps,
                float(ls.mean()),
                float(ac.mean()),
                self._lr_of(self.opt_state),
                sps,
            )
        )

    def snapshot(self) -> None:
        """Probe the current weights and send the Snapshot."""
        self._send_snapshot(self._start_snapshot())

    def _plane_probe(self, p):
        """The network over the input plane, still on the device (None without 2D data)."""
        if self.plane is None:
            return None
        _, _, points, zeros = self.plane
        nodes, probs, _ = self.fns.probe(p, points, zeros)
        return {nid: nodes[nid] for nid in self.hidden}, probs

    def _start_snapshot(self) -> dict:
        """Start the probes of a snapshot of the current weights: what ``_send_snapshot`` fetches, still on the device.

        The snapshot interval counts from here: counted from the send, which may wait
        behind a chunk started ahead, every other chunk would go unshown.
        """
        p, o = self.params, self.opt_state
        self.last_snapshot = time.perf_counter()
        nodes, probs, loss = self.fns.probe(p, self.probe_xj, self.probe_yj)
        return {
            "nodes": nodes,
            "probs": probs,
            "loss": loss,
            "layers": p.get("layers", {}),
            "norms": self.norms,
            "lr": o.hyperparams["learning_rate"],
            "plane": self._plane_probe(p),
        }

    def _send_snapshot(self, started: dict) -> None:
        import jax

        self.shown_step = step = self.step
        norms = started["norms"]
        # One transfer for everything instead of a wait per array (each one gives the GIL
        # up and waits to get it back, behind the GUI thread when a window is open).
        h = jax.device_get(started)
        self.sizer.device_freed()  # a chunk started ahead queued behind these probes
        plane = self.plane
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
        self.session._send(
            Snapshot(
                step=step,
                epoch=self.epoch,
                probe_x=self.probe_x,
                probe_y=self.probe_y,
                activations={k: np.asarray(v) for k, v in h["nodes"].items()},
                params={nid: {k: np.asarray(v) for k, v in lp.items()} for nid, lp in h["layers"].items()},
                grad_norms={nid: float(v) for nid, v in zip(self.layer_ids, h["norms"])}
                if norms is not None
                else {},
                probabilities=np.asarray(h["probs"]),
                loss=float(h["loss"]),
                learning_rate=float(h["lr"]),
                plane=plane_np,
            )
        )

    # ------------------------------------------------------------ evaluation and the end

    def _eval_arrays(self, x: np.ndarray, y: np.ndarray):
        """A split as equal padded batches with masks, and its size; None when it is empty."""
        if len(x) == 0:
            return None
        return (*padded_batches(x, y, min(self.options.eval_batch, len(x))), len(x))

    def evaluate(self, p, which: str, report_at: tuple[int, int] | None = None):
        """(loss, accuracy) on a split; with ``report_at=(epoch, step)`` also its EvalReport."""
        import jax

        arrays = self.eval_sets[which]
        if arrays is None:
            return math.nan, math.nan, None
        xs, ys, masks, n = arrays
        tot_loss, tot_ok, parts = self.fns.eval_all(p, xs, ys, masks)
        if report_at is None:
            tot_loss, tot_ok = jax.device_get((tot_loss, tot_ok))
            return float(tot_loss) / n, float(tot_ok) / n, None
        tot_loss, tot_ok, parts = jax.device_get((tot_loss, tot_ok, parts))  # one sync
        confusion, idx, wrong, y, pred, probs, x = parts
        keep = np.asarray(
            wrong, bool
        )  # fewer than REPORT_SAMPLES (training.py) wrong: the rest are right ones
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

    @staticmethod
    def _lr_of(o) -> float:
        return float(o.hyperparams["learning_rate"])

    def _epoch_end(self) -> None:
        session = self.session
        losses, accs = self.epoch_losses, self.epoch_accs
        tl = float(np.concatenate(losses).mean()) if losses else math.nan
        ta = float(np.concatenate(accs).mean()) if accs else math.nan
        at = (self.epoch, self.step)
        vl, va, vr = self.evaluate(self.params, "val", at if self.report_split == "val" else None)
        sl, sa, sr = self.evaluate(self.params, "test", at if self.report_split == "test" else None)
        msg = EpochEnd(self.epoch, self.step, tl, ta, vl, va, sl, sa, self.t_epoch, vr or sr)
        session.history.append(msg)
        session._send(msg)

    def _final_metrics(self, stopped: bool) -> dict[str, float]:
        history, step = self.session.history, self.step
        if history and not stopped and history[-1].step == step:
            last = history[-1]
            tl, ta, vl, va, sl, sa = (
                last.train_loss,
                last.train_accuracy,
                last.val_loss,
                last.val_accuracy,
                last.test_loss,
                last.test_accuracy,
            )
        else:
            losses, accs = self.epoch_losses, self.epoch_accs
            tl = float(np.concatenate(losses).mean()) if losses else math.nan
            ta = float(np.concatenate(accs).mean()) if accs else math.nan
            vl, va, _ = self.evaluate(self.params, "val")
            sl, sa, _ = self.evaluate(self.params, "test")
        return {
            "train_loss": tl,
            "train_accuracy": ta,
            "val_loss": vl,
            "val_accuracy": va,
            "test_loss": sl,
            "test_accuracy": sa,
            "steps": step,
            "epochs": self.epoch,
            "params": self.session.param_count,
        }

    # ------------------------------------------------------------ resuming

    def _restored_opt_state(self, resume: RunState):
        """The optimizer's state from ``resume``'s leaves, with the project's learning rate."""
        import jax
        import jax.numpy as jnp

        leaves, treedef = jax.tree.flatten(self.opt_state)
        saved = resume.opt_leaves
        fits = len(saved) == len(leaves) and all(
            np.shape(s) == np.shape(leaf) and np.asarray(s).dtype == np.asarray(leaf).dtype
            for s, leaf in zip(saved, leaves)
        )
        if not fits:
            raise WeightsError(
                f"The saved run's optimizer state ({len(saved)} arrays) does not fit "
                f"{optimizer(self.cfg.optimizer).title} ({len(leaves)} arrays). Reset to train this "
                "project from the start."
            )
        state = jax.tree.unflatten(treedef, [jnp.asarray(s) for s in saved])
        # The learning rate is the project's: one a run may change as it goes on.
        state.hyperparams["learning_rate"] = jnp.asarray(self.cfg.learning_rate, dtype=jnp.float32)
        return state

    def _resume_position(self) -> int:
        """The step a resumed run goes on from (0 for a fresh one); its history goes back into the session."""
        resume = self.session.resume_state
        if resume is None:
            return 0
        spe = self.steps_per_epoch
        if resume.epoch * spe + resume.position != resume.step or resume.position >= spe:
            raise WeightsError(
                f"The saved run is damaged: step {resume.step} is not epoch {resume.epoch} and "
                f"batch {resume.position} of {spe}. Reset to train this project from the start."
            )
        completed = resume.epoch
        # An epoch cut short by a step limit was reported; when training goes on into
        # it, it is reported again at its end, so the short report goes.
        goes_on = resume.step < self.total_steps
        self.session.history[:] = [
            EpochEnd.from_record(r)
            for r in resume.history
            if not (goes_on and resume.position and r.get("epoch", 0) > completed)
        ]
        return resume.step

    def _run_state(self, params, opt_state, step: int) -> RunState:
        """What a later run continues from: these weights and optimizer state at ``step``."""
        import jax

        completed, position = divmod(step, self.steps_per_epoch)
        return RunState(
            params=self._to_numpy(params),
            node_types=dict(self.session.node_types),
            step=int(step),
            epoch=int(completed),
            position=int(position),
            opt_leaves=tuple(np.array(leaf) for leaf in jax.tree.leaves(jax.device_get(opt_state))),
            history=tuple(e.record() for e in self.session.history if e.step <= step),
            fingerprint=self.fingerprint,
        )

    @staticmethod
    def _to_numpy(params) -> dict[str, dict[str, np.ndarray]]:
        return {
            nid: {k: np.asarray(v) for k, v in lp.items()} for nid, lp in params.get("layers", {}).items()
        }
