"""How long one snapshot takes to reach each panel: ``show_snapshot`` of every training panel.

The panels are fed real snapshots of two tiny training runs made here first (one a step):
``xor-one-hidden`` (2D data, every panel) and a 784-128-10 sigmoid MLP on 28x28 images
(``fashion-mlp-sigmoid``'s shape), for the network view, whose links and neurons are the
costliest there. Each panel is built and laid out at 900x700 (the network view at
1000x650, as the window's tests do), offscreen and not shown, so the time is the update
alone (``benchmarks/gui_live.py`` measures painting, in the real window).

Baseline, in the same process and interleaved with the panels: the plainest picture of
a snapshot, the MLP's first kernel (784 x 128) as one pyqtgraph ``ImageItem``, set and
rendered to the QImage a paint would draw. ``x bare`` is a panel's median in units of
the baseline's, a number that carries from one machine to another. Rounds are
interleaved (every variant once per round); the table gives medians over all updates of
all rounds and the 90th percentile.

Goals, from what the window can afford at 30 frames a second with several panels in
view: 5 ms for the network view of the 784-128-10 network, 2.5 ms for every panel on
the toy run. The last line reads ``network_784_ms=<median> slowest_panel_ms=<median>``.

    .venv/bin/python benchmarks/panel_updates.py [--rounds 5] [--updates 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("NNVIZ_JIT_CACHE", "0")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GOALS_MS = {"network 784-128-10": 5.0, "toy": 2.5}


class Run:
    """A tiny real training run: its network, analysis, dataset and every snapshot (one a step)."""

    def __init__(self, title, project, dataset=None, **kw):
        from nnviz.core.graph import analyze
        from nnviz.core.layers import Context
        from nnviz.engine.messages import Snapshot
        from nnviz.engine.session import TrainingSession

        msgs: list = []
        session = TrainingSession(
            project,
            dataset=dataset,
            on_message=msgs.append,
            download=False,
            snapshot_interval=0.0,
            max_chunk=1,
            **kw,
        )
        session.run()
        ds = session.dataset
        self.title = title
        self.network = project.network
        self.analysis = analyze(self.network, Context(tuple(ds.input_shape), ds.n_classes, ds.name))
        self.dataset = ds
        self.snaps = [m for m in msgs if isinstance(m, Snapshot)]


def make_runs():
    import numpy as np

    from nnviz.core.datasets import Dataset, DatasetSpec
    from nnviz.core.graph import Network
    from nnviz.core.presets import load_preset
    from nnviz.core.project import Project, TrainingConfig

    toy = Run(
        "toy",
        load_preset("xor-one-hidden").with_training(epochs=2),
        probe_size=16,
        plane_resolution=24,
    )
    rng = np.random.default_rng(1)
    x = rng.random((200, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 10, 200).astype(np.int32)
    ds = Dataset(
        "random-28x28",
        x[:160],
        y[:160],
        x[:0],
        y[:0],
        x[160:],
        y[160:],
        tuple(f"class {i}" for i in range(10)),
        "image",
    )
    net = Network.chain(
        "Input",
        "Flatten",
        ("Dense", {"units": 128, "activation": "sigmoid"}),
        ("Dense", {"units": 10, "activation": "softmax"}),
        "Output",
    )
    proj = Project(net, DatasetSpec("xor"), TrainingConfig(epochs=1, max_steps=8, batch_size=32))
    mlp = Run("network 784-128-10", proj, ds, probe_size=12)
    return toy, mlp


class Bare:
    """The baseline: the first kernel of the MLP's snapshot (784 x 128) as one pyqtgraph image,
    converted to the QImage its paint would draw. Any picture of those weights costs this."""

    def __init__(self, run, size):
        import pyqtgraph as pg

        self.view = pg.GraphicsLayoutWidget()
        self.view.resize(*size)
        self.image = pg.ImageItem()
        self.view.addPlot().addItem(self.image)
        self.layer = next(iter(run.snaps[-1].params))

    def show_snapshot(self, snapshot):
        self.image.setImage(snapshot.params[self.layer]["kernel"], levels=(-1.0, 1.0))
        self.image.render()  # what the paint would do first; setImage alone defers it


def make_variants(runs):
    """(name, run, object with show_snapshot): the baseline, every panel on the toy run, the network view on the MLP."""
    import nnviz.qt.panels as panels
    from nnviz.qt.panels import DatasetInfo, NetworkPanel

    toy, mlp = runs
    made = [("bare image", mlp, Bare(mlp, (900, 700)))]
    for run, classes, size in ((toy, panels.PANEL_TYPES, (900, 700)), (mlp, (NetworkPanel,), (1000, 650))):
        for cls in classes:
            panel = cls()
            panel.set_context(run.network, run.analysis, DatasetInfo.from_dataset(run.dataset))
            panel.resize(*size)
            for s in run.snaps:  # built, and every snapshot seen once
                panel.show_snapshot(s)
            made.append((cls.__name__, run, panel))
    return made


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--updates", type=int, default=100, help="snapshots shown per variant and round")
    args = p.parse_args()

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    runs = make_runs()
    variants = make_variants(runs)
    app.processEvents()
    times: dict[tuple[str, str], list[float]] = {(name, run.title): [] for name, run, _ in variants}
    for _ in range(args.rounds):
        for name, run, view in variants:
            snaps = run.snaps
            out = times[(name, run.title)]
            for i in range(args.updates):
                snap = snaps[i % len(snaps)]  # a new snapshot every time, as while training
                t0 = time.perf_counter()
                view.show_snapshot(snap)
                out.append(time.perf_counter() - t0)
            app.processEvents()  # deferred deletes and posted events, outside the timing

    def ms(values, q=0.5):
        values = sorted(values)
        return 1000 * values[min(len(values) - 1, int(q * len(values)))]

    print(
        f"{args.rounds} rounds x {args.updates} updates per variant, offscreen, not shown; "
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    print(f"{'panel':<24} {'run':<20} {'median ms':>10} {'p90 ms':>8} {'x bare':>7} {'goal ms':>8}")
    slowest = 0.0
    network = float("nan")
    bare = 1000 * statistics.median(times[("bare image", "network 784-128-10")])
    for (name, title), values in times.items():
        median = 1000 * statistics.median(values)
        goal = "" if name == "bare image" else f"{GOALS_MS[title]:.1f}"
        print(
            f"{name:<24} {title:<20} {median:>10.3f} {ms(values, 0.9):>8.3f} {median / bare:>7.1f} {goal:>8}"
        )
        if name != "bare image" and title == "toy":
            slowest = max(slowest, median)
        if name == "NetworkPanel" and title != "toy":
            network = median
    print(f"network_784_ms={network:.3f} slowest_panel_ms={slowest:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
