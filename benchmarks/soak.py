"""Soak: long live training in the real main window with every panel in view; memory and responsiveness.

The window is offscreen with every training panel that applies floated in view (as
gui_live.py lays them out) and trains, as the Train button starts it (in the engine
process), a run far longer than the soak: ``mnist-cnn`` on the real MNIST files where
nnviz.core.datasets.find_data_dir finds them, else ``fashion-mlp-sigmoid`` on Fashion-MNIST
or random images of its shape. Every period (30 s) it records:

- the resident set (VmRSS) of the window's process and of the engine process;
- how late a 10 ms GUI timer fires over the period (p50, p99, max);
- whether the window answers: a thread of this script posts a queued call to the GUI
  thread once a second and times the round trip (max over the period; one that has not
  come back within 30 s counts as lost), which works even if the GUI thread hangs,
  since the sampling happens on that thread, not the GUI's;
- snapshots drawn into the panels, steps trained, the timeline history's length, bytes
  and stride (nnviz.engine.history.SnapshotHistory, held by the window's visuals).

At the end: a table per period and a summary: the RSS when the history first reached
its budget (it then stops growing: that is where "after the history fills" starts) and
at the end, the growth (goal: <= 50 MB), the lateness p99 of the first and last period
and the slowest round trip. The objects by type in the window's process are counted
when the history fills and at the end, and the types that grew most are printed;
``--tracemalloc`` also compares Python allocations by line between those two points
(it slows every allocation, so the lateness figures then say less).

MB here are 10**6 bytes.

    nice -n 10 python benchmarks/soak.py                 # 60 minutes
    python benchmarks/soak.py --minutes 2 --json soak.json
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from gui_live import float_every_panel, load_data, rss_mib  # importing it sets the offscreen platform

MB = 2**20 / 1e6  # MiB -> MB
ROUND_TRIP_LOST_S = 30.0


def rss_mb(pid: int | str = "self") -> float:
    return rss_mib(pid) * MB


def pick_project():
    """(project, data_dir or None, dataset or None, description): a CNN on MNIST where its files are."""
    from nnviz.core.datasets import find_data_dir
    from nnviz.core.presets import load_preset

    for preset, name in (("mnist-cnn", "mnist"), ("fashion-cnn", "fashion-mnist")):
        folder = find_data_dir(name)
        if folder is not None:
            project = load_preset(preset)
            return project, str(folder), None, f"{preset} on {name} from {folder}"
    ds, data_name = load_data()
    return load_preset("fashion-mlp-sigmoid"), None, ds, f"fashion-mlp-sigmoid on {data_name}"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[int(q * (len(s) - 1))]


def type_counts() -> collections.Counter:
    gc.collect()
    return collections.Counter(type(o).__name__ for o in gc.get_objects())


class Sampler(threading.Thread):
    """Samples the processes and pings the GUI thread, off the GUI thread (so a hung GUI still shows)."""

    def __init__(self, window, pinger, state, period: float, engine_pid) -> None:
        super().__init__(name="soak-sampler", daemon=True)
        self.window, self.pinger, self.state = window, pinger, state
        self.period, self.engine_pid = period, engine_pid
        self.samples: list[dict] = []
        self.full: dict | None = None  # the moment the history first reached its budget
        self.full_types = None
        self.full_trace = None
        self.stop_event = threading.Event()

    def ping(self) -> float:
        done = threading.Event()
        t = time.perf_counter()
        self.pinger.ping.emit(done)
        if not done.wait(ROUND_TRIP_LOST_S):
            return float("inf")
        return time.perf_counter() - t

    def snapshot(self) -> dict:
        st, h = self.state, self.window.visuals.history
        progress = self.window.bridge.last_progress
        return {
            "t_s": time.perf_counter() - st["t0"],
            "rss_window_mb": rss_mb(),
            "rss_engine_mb": rss_mb(self.engine_pid()) if self.engine_pid() else float("nan"),
            "frames": st["frames"],
            "step": progress.step if progress is not None else 0,
            "epoch": progress.epoch if progress is not None else 0,
            "history_len": len(h),
            "history_mb": h.nbytes / 1e6,
            "history_stride": stride_text(h.stride),
            "history_full": h.dropped > 0,
            # Python's own allocations (cheap to read): growth here and not in them is native (Qt, numpy, malloc)
            "py_blocks": sys.getallocatedblocks(),
        }

    def run(self) -> None:
        next_sample = time.perf_counter() + self.period
        trips: list[float] = []
        prev = self.snapshot()
        while not self.stop_event.is_set():
            trips.append(self.ping())
            h = self.window.visuals.history
            if self.full is None and h.dropped > 0:
                self.full = self.snapshot()
                self.full_types = type_counts()
                if self.state["tracemalloc"]:
                    import tracemalloc

                    self.full_trace = tracemalloc.take_snapshot()
            now = time.perf_counter()
            if now >= next_sample:
                self.close_period(prev, trips)
                prev = self.samples[-1]
                trips = []
                next_sample += self.period
            self.stop_event.wait(max(0.0, min(1.0, next_sample - time.perf_counter())))

    def close_period(self, prev: dict, trips: list[float]) -> None:
        st = self.state
        late, st["lateness"] = st["lateness"], []  # swapped under the GIL: the timer appends to the new list
        s = self.snapshot()
        span = max(s["t_s"] - prev["t_s"], 1e-9)
        s.update(
            period_s=span,
            snapshots_per_s=(s["frames"] - prev["frames"]) / span,
            steps_per_s=(s["step"] - prev["step"]) / span,
            late_p50_ms=1000 * percentile(late, 0.5),
            late_p99_ms=1000 * percentile(late, 0.99),
            late_max_ms=1000 * max(late, default=float("nan")),
            ticks=len(late),
            round_trip_max_ms=1000 * max(trips, default=float("nan")),
            round_trips=len(trips),
            round_trips_lost=sum(t == float("inf") for t in trips),
        )
        self.samples.append(s)
        print(row(s), flush=True)


HEADER = (
    f"{'t min':>6} {'win MB':>7} {'eng MB':>7} {'snap/s':>6} {'steps':>9} {'ep':>4} {'hist':>5} "
    f"{'hist MB':>7} {'strd':>5} {'late p50':>8} {'p99 ms':>7} {'max ms':>7} {'trip max':>8} {'py Mblk':>7}"
)


def stride_text(stride: int) -> str:
    return str(stride) if stride < 10**5 else f"2^{stride.bit_length() - 1}"


def row(s: dict) -> str:
    return (
        f"{s['t_s'] / 60:6.1f} {s['rss_window_mb']:7.0f} {s['rss_engine_mb']:7.0f} {s['snapshots_per_s']:6.1f} "
        f"{s['step']:9,d} {s['epoch']:4d} {s['history_len']:5d} {s['history_mb']:7.1f} {s['history_stride']:>5} "
        f"{s['late_p50_ms']:8.1f} {s['late_p99_ms']:7.1f} {s['late_max_ms']:7.0f} {s['round_trip_max_ms']:8.1f} "
        f"{s['py_blocks'] / 1e6:7.3f}" + (f" LOST {s['round_trips_lost']}" if s["round_trips_lost"] else "")
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=60.0, help="how long to train (default 60)")
    p.add_argument("--period", type=float, default=30.0, help="seconds per sample period (default 30)")
    p.add_argument("--size", default="2400x1500", help="main window WIDTHxHEIGHT")
    p.add_argument("--json", metavar="FILE", help="also write the samples and the summary to FILE")
    p.add_argument(
        "--tracemalloc",
        action="store_true",
        help="trace Python allocations in the window's process and compare history-full with the end",
    )
    args = p.parse_args()
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start(8)

    from PySide6.QtCore import QEventLoop, QObject, QSettings, QTimer, Signal, Slot
    from PySide6.QtWidgets import QApplication

    from nnviz.engine.process import ProcessSession, shared_engine
    from nnviz.qt.app import make_application
    from nnviz.qt.document import ProjectDocument
    from nnviz.qt.main_window import MainWindow

    app = make_application("nnviz-soak")
    project, data_dir, ds, description = pick_project()
    # far more epochs than the soak lasts: it is stopped at the end, as a user would
    project = project.with_training(epochs=100000, max_steps=0)
    tmp = tempfile.mkdtemp(prefix="nnviz-soak-")
    settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(
        ProjectDocument(project), settings=settings, autosave_dir=tmp, data_dir=data_dir, download=False
    )
    if ds is not None:  # stand-in data: hand it to the engine process as gui_live.py does
        w.bridge._session_factory = lambda p_, **kw: ProcessSession(p_, dataset=ds, **kw)
    width, height = (int(v) for v in args.size.lower().split("x"))
    w.resize(width, height)
    w.show()
    w.build_visuals()
    float_every_panel(w, width)
    app.processEvents()
    v = w.visuals
    in_view = v.visible_keys()

    state = {"frames": 0, "lateness": [], "t0": time.perf_counter(), "tracemalloc": args.tracemalloc}

    def on_frame(_n):
        state["frames"] += 1

    v.frame_drawn.connect(on_frame)
    tick = {"t": time.perf_counter()}

    def on_tick():
        now = time.perf_counter()
        state["lateness"].append(max(0.0, now - tick["t"] - 0.010))
        tick["t"] = now

    probe = QTimer()
    probe.setInterval(10)
    probe.timeout.connect(on_tick)

    class Pinger(QObject):
        """Lives on the GUI thread; a ping from another thread is a queued call it answers."""

        ping = Signal(object)

        def __init__(self) -> None:
            super().__init__()
            self.ping.connect(self._on_ping)

        @Slot(object)
        def _on_ping(self, done) -> None:
            done.set()

    pinger = Pinger()
    engine = shared_engine()
    sampler = Sampler(w, pinger, state, args.period, lambda: engine.pid)

    ended = {"active": None}
    loop = QEventLoop()

    def on_active_changed(active):
        ended["active"] = active
        if not active:
            loop.quit()

    w.bridge.active_changed.connect(on_active_changed)
    print(
        f"soak: {description}, {args.minutes:g} min, window {width}x{height} offscreen, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}, nice {os.nice(0)}",
        flush=True,
    )
    print(f"panels in view: {', '.join(in_view)}", flush=True)
    print(HEADER, flush=True)
    rss_start = (rss_mb(), float("nan"))
    state["t0"] = time.perf_counter()
    tick["t"] = state["t0"]
    probe.start()
    w.train()
    sampler.start()
    QTimer.singleShot(int(args.minutes * 60_000), w.stop)
    loop.exec()  # until the run has ended (stopped at the duration, or ended by itself)
    wall = time.perf_counter() - state["t0"]
    sampler.stop_event.set()
    sampler.join()
    probe.stop()
    end_types = type_counts()
    end_trace = None
    if args.tracemalloc:
        import tracemalloc

        end_trace = tracemalloc.take_snapshot()
    result = w.bridge.result
    error = None if result is None or getattr(result, "reason", "") == "stopped" else result.reason
    samples = sampler.samples
    final = samples[-1] if samples else sampler.snapshot()
    full = sampler.full
    # the first whole period after the history filled: what every later one is compared with
    after_full = next((s for s in samples if full is not None and s["t_s"] >= full["t_s"]), None)

    print()
    summary: dict = {
        "description": description,
        "minutes": args.minutes,
        "wall_s": wall,
        "cpus": os.cpu_count(),
        "nice": os.nice(0),
        "load_average_end": os.getloadavg(),
        "panels": in_view,
        "steps": final["step"],
        "epochs": final["epoch"],
        "snapshots": state["frames"],
        "run_ended_early": wall < args.minutes * 60 - 5,
        "run_error": error,
        "rss_window_start_mb": rss_start[0],
    }
    if full is not None:
        summary.update(
            history_full_at_s=full["t_s"],
            rss_window_full_mb=full["rss_window_mb"],
            rss_engine_full_mb=full["rss_engine_mb"],
            rss_window_end_mb=final["rss_window_mb"],
            rss_engine_end_mb=final["rss_engine_mb"],
            growth_window_mb=final["rss_window_mb"] - full["rss_window_mb"],
            growth_engine_mb=final["rss_engine_mb"] - full["rss_engine_mb"],
        )
        if after_full is not None:
            summary.update(
                rss_window_first_period_after_full_mb=after_full["rss_window_mb"],
                rss_engine_first_period_after_full_mb=after_full["rss_engine_mb"],
                growth_window_since_first_period_after_full_mb=final["rss_window_mb"]
                - after_full["rss_window_mb"],
                growth_engine_since_first_period_after_full_mb=final["rss_engine_mb"]
                - after_full["rss_engine_mb"],
            )
    later = [s for s in samples if full is not None and s["t_s"] >= full["t_s"]]
    if len(later) >= 4:
        # medians of the first and last few periods: the engine's RSS swings ~200 MB at every
        # epoch's evaluation, so one sample on either side says little
        n = min(5, len(later) // 2)
        for side in ("window", "engine"):
            first = statistics.median(s[f"rss_{side}_mb"] for s in later[:n])
            last = statistics.median(s[f"rss_{side}_mb"] for s in later[-n:])
            summary[f"growth_{side}_median_mb"] = last - first
        summary["growth_median_periods"] = n
    if samples:
        trips = [s["round_trip_max_ms"] for s in samples]
        summary.update(
            late_p99_first_period_ms=samples[0]["late_p99_ms"],
            late_p99_last_period_ms=samples[-1]["late_p99_ms"],
            late_p99_worst_period_ms=max(s["late_p99_ms"] for s in samples),
            round_trip_max_ms=max(trips),
            round_trips=sum(s["round_trips"] for s in samples),
            round_trips_lost=sum(s["round_trips_lost"] for s in samples),
            snapshots_per_s_median=statistics.median(s["snapshots_per_s"] for s in samples),
            steps_per_s_median=statistics.median(s["steps_per_s"] for s in samples),
        )
    grew = []
    if sampler.full_types is not None:
        diff = end_types.copy()
        diff.subtract(sampler.full_types)
        grew = [(k, n) for k, n in diff.most_common(12) if n > 0]
        summary["object_types_grown"] = grew
    traced = []
    if sampler.full_trace is not None and end_trace is not None:
        stats = end_trace.compare_to(sampler.full_trace, "lineno")
        traced = [(str(s.traceback[0]), s.size_diff, s.count_diff) for s in stats[:15]]
        summary["tracemalloc_top"] = traced

    print(
        f"{description}: {summary['steps']:,} steps in {wall / 60:.1f} min, {state['frames']:,} snapshots drawn"
    )
    if summary["run_ended_early"]:
        print(f"the run ended before the soak did: {error or 'no reason reported'}")
    if full is not None:
        print(
            f"history full at {full['t_s']:.0f} s ({full['history_len']} snapshots, {full['history_mb']:.0f} MB): "
            f"window RSS {full['rss_window_mb']:,.0f} MB, engine {full['rss_engine_mb']:,.0f} MB"
        )
        print(
            f"at the end: window RSS {final['rss_window_mb']:,.0f} MB ({summary['growth_window_mb']:+,.0f} MB), "
            f"engine {final['rss_engine_mb']:,.0f} MB ({summary['growth_engine_mb']:+,.0f} MB); goal <= 50 MB"
        )
        if after_full is not None:
            print(
                f"since the first period after it ({after_full['t_s'] / 60:.1f} min): window "
                f"{summary['growth_window_since_first_period_after_full_mb']:+,.0f} MB, engine "
                f"{summary['growth_engine_since_first_period_after_full_mb']:+,.0f} MB"
            )
        if "growth_median_periods" in summary:
            print(
                f"median of the last {summary['growth_median_periods']} periods against the first "
                f"{summary['growth_median_periods']} after it: window {summary['growth_window_median_mb']:+,.0f} MB, "
                f"engine {summary['growth_engine_median_mb']:+,.0f} MB"
            )
    else:
        print("the history never reached its budget")
    if samples:
        print(
            f"GUI timer lateness p99: first period {summary['late_p99_first_period_ms']:.1f} ms, last "
            f"{summary['late_p99_last_period_ms']:.1f} ms, worst {summary['late_p99_worst_period_ms']:.1f} ms; "
            f"round trip max {summary['round_trip_max_ms']:.1f} ms over {summary['round_trips']} "
            f"({summary['round_trips_lost']} lost)"
        )
    if grew:
        print("objects grown since the history filled: " + ", ".join(f"{k} {n:+,d}" for k, n in grew))
    for where, size, count in traced:
        print(f"  tracemalloc {size / 1e6:+8.2f} MB {count:+8,d} blocks  {where}")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"summary": summary, "samples": samples}, indent=1, default=str)
        )
    w.document.undo_stack.setClean()
    w.bridge.shutdown(2.0)
    w.bridge.forget_run()  # a benchmark's run is not work to save: closing asks nothing
    w.close()
    QApplication.processEvents()
    growth = summary.get("growth_window_mb", float("nan")) + summary.get("growth_engine_mb", float("nan"))
    print(
        f"growth_mb={growth:.0f} late_p99_last_ms={summary.get('late_p99_last_period_ms', float('nan')):.1f} "
        f"round_trip_max_ms={summary.get('round_trip_max_ms', float('nan')):.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
