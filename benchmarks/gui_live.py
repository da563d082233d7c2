"""Live training in the real main window against the same training without a GUI, in one process.

The window is offscreen with every training panel that applies in view (each dock
floated beside the others, none behind a tab), and trains ``fashion-mlp-sigmoid`` for a
fixed number of steps, exactly as the Train button starts it: in the engine process
(``--thread``: on a thread of the window's process, as before the engine process).
Measured:

- fps: snapshots drawn into the panels per second (median over 1 s windows), and the
  paint events the panels' views actually received;
- training samples/s, from the session's own Progress messages (first to last), in the
  window and in a headless run of the same project and dataset (default session
  settings, as the CLI trains; and with the window's short chunks, for reference), run
  before and again after the window; gui/headless is against the mean of the two;
- GUI latency: how late a 10 ms timer fires while training (p99), what a click would wait;
- GUI-thread CPU time (thread_time, not wall time, which a busy machine inflates): per
  panel in view, its updates (show_snapshot, add_metrics) and the painting of its view,
  and the thread's total per frame;
- memory: the resident set (VmRSS) of the window's process, and of the engine process,
  sampled while the window trains: start, end and the slope per 1,000 steps (a
  least-squares line over the run's second half, after every buffer has been allocated
  once).

``--profile FILE`` writes a cProfile of the GUI thread during the measured window run
(``python -m pstats FILE``), with the 25 costliest functions printed.

Data: Fashion-MNIST where nnviz.core.datasets.find_data_dir finds it ($NNVIZ_DATA_DIR,
../shared/datasets, the app's cache), else random images of the same shape. The
last line reads ``fps=<median> gui/headless=<ratio>``.

    python benchmarks/gui_live.py [--steps 15000] [--size 2400x1500] [--default-layout --size 1500x950]
                                  [--thread] [--profile gui.prof]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("NNVIZ_JIT_CACHE", "0")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load_data():
    import numpy as np

    from nnviz.core.datasets import Dataset, DatasetError, DatasetSpec, find_data_dir, load_dataset

    try:
        folder = find_data_dir("fashion-mnist")
        if folder is None:
            raise DatasetError("no Fashion-MNIST files")
        return load_dataset(DatasetSpec("fashion-mnist"), folder, download=False), "fashion-mnist"
    except DatasetError:
        rng = np.random.default_rng(0)
        x = rng.random((12000, 28, 28, 1), dtype=np.float32)
        y = rng.integers(0, 10, 12000).astype(np.int32)
        return Dataset(
            "random",
            x[:10000],
            y[:10000],
            x[:0],
            y[:0],
            x[10000:],
            y[10000:],
            tuple(str(i) for i in range(10)),
            "image",
        ), "random (no Fashion-MNIST in $NNVIZ_DATA_DIR, ../shared/datasets or the cache)"


class ProgressClock:
    """Records (time, step) of every Progress on the training thread, where it is made."""

    def __init__(self) -> None:
        self.points: list[tuple[float, int]] = []

    def __call__(self, msg) -> None:
        from nnviz.engine.messages import Progress

        if isinstance(msg, Progress):
            self.points.append((time.perf_counter(), msg.step))

    def samples_per_second(self, batch: int) -> float:
        (t0, s0), (t1, s1) = self.points[0], self.points[-1]
        return (s1 - s0) * batch / max(t1 - t0, 1e-9)


def rss_mib(pid: int | str = "self") -> float:
    """The resident set of a process (this one by default), from /proc (VmRSS), in MiB."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def thread_cpu(pid: int | str = "self") -> dict[str, float]:
    """CPU seconds (user + system) of each thread of a process, by thread name (summed over equal names)."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                text = f.read()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def cpu_line(label: str, before: dict[str, float], after: dict[str, float], wall: float) -> str:
    used = {k: (after[k] - before.get(k, 0.0)) / wall for k in after}
    top = sorted(used.items(), key=lambda kv: -kv[1])[:5]
    return f"CPU:      {label} {sum(used.values()):.2f} cores: " + ", ".join(
        f"{k} {v:.2f}" for k, v in top if v >= 0.01
    )


def slope_per_1000(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of (step, MiB) points, in MiB per 1,000 steps."""
    if len(points) < 3:
        return float("nan")
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in points)
    return 1000 * sxy / sxx if sxx else float("nan")


def float_every_panel(window, width: int) -> list[str]:
    """Float every training panel that applies (but the curves, docked) into a grid beside the window.

    None is then behind a tab, so every one of them draws each snapshot. Returns their keys.
    """
    v = window.visuals
    floating = [k for k in v.docks if k != "curves" and v.applicable.get(k)]
    for i, key in enumerate(floating):
        dock = v.docks[key]
        dock.setFloating(True)
        dock.resize(760, 560)
        dock.move(width + (i % 3) * 780, (i // 3) * 580)
        dock.show()
    return floating


def headless(project, ds, options=None) -> float:
    from dataclasses import replace

    from nnviz.engine.options import SessionOptions
    from nnviz.engine.session import TrainingSession

    clock = ProgressClock()
    options = replace(options or SessionOptions(), download=False)
    TrainingSession(project, options, dataset=ds, on_message=clock).run()
    return clock.samples_per_second(project.training.batch_size)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=15000)
    p.add_argument("--size", default="2400x1500", help="main window WIDTHxHEIGHT")
    p.add_argument(
        "--default-layout",
        action="store_true",
        help="keep the window's own layout (curves and the front tab only) instead of every panel",
    )
    p.add_argument(
        "--thread",
        action="store_true",
        help="train on a thread of the window's process instead of the engine process",
    )
    p.add_argument(
        "--profile", metavar="FILE", help="cProfile the GUI thread during the measured run into FILE"
    )
    args = p.parse_args()

    from dataclasses import replace

    from PySide6.QtCore import QEvent, QEventLoop, QObject, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from nnviz.core.presets import load_preset
    from nnviz.engine.session import TrainingSession
    from nnviz.qt.app import make_application
    from nnviz.qt.document import ProjectDocument
    from nnviz.qt.main_window import LIVE_SESSION, MainWindow

    app = make_application("nnviz-bench")
    ds, data_name = load_data()
    project = load_preset("fashion-mlp-sigmoid").with_training(epochs=1, max_steps=args.steps)
    batch = project.training.batch_size
    warm = project.with_training(epochs=1, max_steps=300)

    # ---- headless, after a warm-up that compiles the training loop and the evaluation
    headless(warm, ds)
    headless(warm, ds, LIVE_SESSION)
    sps_headless = headless(project, ds)
    sps_headless_live = headless(project, ds, LIVE_SESSION)
    sps_engine = None
    if not args.thread:  # the engine process alone: what its thread count costs before any window
        from nnviz.engine.process import ProcessSession, engine_threads, shared_engine

        def engine_alone(project_):
            clock_ = ProgressClock()
            options = replace(LIVE_SESSION, download=False)
            s = ProcessSession(project_, options, dataset=ds, on_message=clock_)
            s.start()
            s.join()
            return clock_.samples_per_second(batch)

        engine_alone(warm)
        sps_engine = engine_alone(project)

    # Paint time per panel: Qt's painting of each panel's view, which the panels' own
    # update times (VisualsController.seconds) do not include.
    import pyqtgraph as pg

    view_key: dict[int, str] = {}
    paint_seconds: dict[str, float] = {}
    plain_paint = pg.GraphicsView.paintEvent

    def timed_paint(view, ev):  # CPU time of this thread: wall time on a busy machine says little
        t = time.thread_time()
        try:
            return plain_paint(view, ev)
        finally:
            key = view_key.get(id(view))
            if key is not None:
                paint_seconds[key] += time.thread_time() - t

    pg.GraphicsView.paintEvent = timed_paint

    # ---- the window
    tmp = tempfile.mkdtemp(prefix="nnviz-bench-")
    settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(ProjectDocument(project), settings=settings, autosave_dir=tmp, download=False)
    width, height = (int(v) for v in args.size.lower().split("x"))
    w.resize(width, height)
    w.show()
    w.build_visuals()
    v = w.visuals
    if not args.default_layout:
        float_every_panel(w, width)
    app.processEvents()
    in_view = v.visible_keys()

    paints = {"n": 0}

    class PaintCounter(QObject):
        def eventFilter(self, obj, event):  # noqa: N802
            if event.type() == QEvent.Type.Paint:
                paints["n"] += 1
            return False

    counter = PaintCounter()
    for key in in_view:
        v.panels[key].graphics.viewport().installEventFilter(counter)

    view_key.update({id(v.panels[k].graphics): k for k in in_view})
    paint_seconds.update({k: 0.0 for k in in_view})
    update_seconds = {k: 0.0 for k in in_view}  # CPU time of show_snapshot and add_metrics

    def timed(key, method):
        def call(*a, **kw):
            t = time.thread_time()
            try:
                return method(*a, **kw)
            finally:
                update_seconds[key] += time.thread_time() - t

        return call

    for key in in_view:
        panel = v.panels[key]
        panel.show_snapshot = timed(key, panel.show_snapshot)
        panel.add_metrics = timed(key, panel.add_metrics)

    clock = ProgressClock()
    target = {"project": warm}
    # the window's own project copy, with this run's step count (kwargs as the window passes them)
    make_session = TrainingSession if args.thread else ProcessSession
    w.bridge._session_factory = lambda p, **kw: make_session(
        p.with_training(max_steps=target["project"].training.max_steps), dataset=ds, on_message=clock, **kw
    )

    def run_window(project_):
        w.bridge.reset()
        target["project"] = project_
        loop = QEventLoop()

        def on_active_changed(active):
            if not active:
                loop.quit()

        w.bridge.active_changed.connect(on_active_changed)
        w.train()
        loop.exec()
        w.bridge.active_changed.disconnect(on_active_changed)
        print(f"  window run: steps {clock.points[-1][1] if clock.points else 0}", flush=True)

    run_window(warm)  # warm the engine process (its compilations) and the window's panels
    clock.points.clear()

    frame_times: list[float] = []
    v.frame_drawn.connect(lambda n: frame_times.append(time.perf_counter()))
    lateness: list[float] = []
    tick = {"t": time.perf_counter()}

    def on_tick():
        now = time.perf_counter()
        lateness.append(max(0.0, now - tick["t"] - 0.010))
        tick["t"] = now

    probe = QTimer()
    probe.setInterval(10)
    probe.timeout.connect(on_tick)
    memory: list[tuple[int, float]] = []  # (step, MiB) while training
    engine_memory: list[tuple[int, float]] = []
    engine_pid = None if args.thread else shared_engine().pid

    def on_memory():
        step = clock.points[-1][1] if clock.points else 0
        memory.append((step, rss_mib()))
        if engine_pid is not None:
            engine_memory.append((step, rss_mib(engine_pid)))

    sampler = QTimer()
    sampler.setInterval(250)
    sampler.timeout.connect(on_memory)
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    probe.start()
    sampler.start()
    paints["n"] = 0
    for k in paint_seconds:
        paint_seconds[k] = update_seconds[k] = 0.0
    cpu_window0 = thread_cpu()
    cpu_engine0 = thread_cpu(engine_pid) if engine_pid is not None else {}
    cpu0 = time.thread_time()  # this (the GUI) thread only: less noisy than wall time on a busy machine
    t0 = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    run_window(project)
    if profiler is not None:
        profiler.disable()
    wall = time.perf_counter() - t0
    gui_cpu = time.thread_time() - cpu0
    cpu_window1 = thread_cpu()
    cpu_engine1 = thread_cpu(engine_pid) if engine_pid is not None else {}
    probe.stop()
    sampler.stop()
    sps_gui = clock.samples_per_second(batch)

    # frames per 1 s window while it trained
    per_second = []
    if frame_times:
        start, end = frame_times[0], frame_times[-1]
        k = 0
        while start + k + 1 <= end:
            per_second.append(sum(start + k <= t < start + k + 1 for t in frame_times))
            k += 1
    fps = statistics.median(per_second) if per_second else float(len(frame_times)) / max(wall, 1e-9)
    late = sorted(lateness)
    p99 = late[int(0.99 * (len(late) - 1))] * 1000 if late else float("nan")

    print(
        f"data {data_name}, {args.steps} steps of batch {batch}, window {width}x{height} offscreen, "
        f"{os.cpu_count()} CPUs, training {'on a thread' if args.thread else 'in the engine process'}"
    )
    print(f"panels in view: {', '.join(in_view)}")
    print(
        f"headless: {sps_headless:,.0f} samples/s (default session); {sps_headless_live:,.0f} samples/s "
        f"with the window's settings {LIVE_SESSION}"
    )
    if sps_engine is not None:
        print(
            f"engine process alone ({engine_threads()} XLA thread(s), the window's settings, no window): "
            f"{sps_engine:,.0f} samples/s"
        )
    print(
        f"window:   {sps_gui:,.0f} samples/s, {len(frame_times)} frames in {wall:.1f} s, "
        f"fps median {fps:.1f} (per-second {min(per_second, default=0)}-{max(per_second, default=0)}), "
        f"{paints['n'] / wall:.1f} panel paints/s, GUI timer late p99 {p99:.1f} ms"
    )
    print(
        "per panel: "
        + ", ".join(
            f"{k} {n} snapshots, {1000 * v.seconds[k] / n:.1f} ms each" for k, n in v.updates.items() if n
        )
    )
    print(
        "GUI-thread CPU per panel, update + paint: "
        + ", ".join(
            f"{k} {1000 * update_seconds[k] / wall:.0f}+{1000 * t / wall:.0f}"
            for k, t in paint_seconds.items()
        )
        + f" ms/s (panels {1000 * (sum(update_seconds.values()) + sum(paint_seconds.values())) / wall:.0f} ms/s of "
        + f"{1000 * gui_cpu / wall:.0f} ms/s in all, {1000 * gui_cpu / max(len(frame_times), 1):.1f} ms per frame)"
    )
    print(cpu_line("window process", cpu_window0, cpu_window1, wall))
    if engine_pid is not None:
        print(cpu_line("engine process", cpu_engine0, cpu_engine1, wall))
    for name, mem in (("window", memory), ("engine", engine_memory)):
        if not mem:
            continue
        half = [m for m in mem if m[0] >= args.steps // 2]
        print(
            f"memory:   {name} process RSS {mem[0][1]:,.0f} MiB at the start, {mem[-1][1]:,.0f} MiB at the end, "
            f"slope {slope_per_1000(half):+.2f} MiB per 1,000 steps over the second half "
            f"({slope_per_1000(mem):+.2f} over the whole run, {len(mem)} samples)"
        )
    h = v.history
    print(
        f"timeline history: {len(h)} snapshots, {h.nbytes / 2**20:,.0f} MiB (bounded by "
        f"{h.max_bytes / 2**20:,.0f} MiB), stride {h.stride}"
    )
    if profiler is not None:
        import pstats

        profiler.dump_stats(args.profile)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    w.document.undo_stack.setClean()
    w.bridge.shutdown(2.0)
    w.bridge.forget_run()  # a benchmark's run is not work to save: closing asks nothing
    w.close()
    QApplication.processEvents()
    # The machine's other load drifts: the headless run again after the window, and the
    # ratio against the mean of the two.
    sps_headless_after = headless(project, ds)
    baseline = (sps_headless + sps_headless_after) / 2
    print(f"headless after the window: {sps_headless_after:,.0f} samples/s (before it {sps_headless:,.0f})")
    if sps_engine is not None:
        print(
            f"window against the engine process alone: {sps_gui / sps_engine:.2f}; the engine alone against "
            f"headless: {sps_engine / baseline:.2f} (the most the window can reach while the engine "
            f"computes on {engine_threads()} of {os.cpu_count()} CPUs)"
        )
    print(f"fps={fps:.1f} gui/headless={sps_gui / baseline:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
