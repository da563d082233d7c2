"""Train a few presets briefly and render every visualisation panel to PNG, to look at them.

    python packaging/render_panels.py [--out /tmp/panel_shots] [--quick]

Runs offscreen. MNIST comes from ../shared/datasets when present, else random images.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "datasets"

import numpy as np  # noqa: E402

from nnviz.core.datasets import Dataset, DatasetSpec, load_dataset  # noqa: E402
from nnviz.core.graph import analyze  # noqa: E402
from nnviz.core.layers import Context  # noqa: E402
from nnviz.core.presets import load_preset  # noqa: E402
from nnviz.engine.messages import EpochEnd, Progress, Snapshot  # noqa: E402
from nnviz.engine.options import SessionOptions  # noqa: E402
from nnviz.engine.session import TrainingSession  # noqa: E402


def mnist(limit: int = 6000, test: int = 1000, name: str = "mnist") -> Dataset:
    if (SHARED / name / "train-images-idx3-ubyte.gz").exists():
        ds = load_dataset(
            DatasetSpec(name, validation_split=0.1, train_limit=limit), str(SHARED), download=False
        )
        return dataclasses.replace(ds, x_test=ds.x_test[:test], y_test=ds.y_test[:test])
    print("no MNIST files; using random images")
    rng = np.random.default_rng(0)
    x = rng.random((limit + test, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, limit + test).astype(np.int32)
    n_val = limit // 10
    return Dataset(
        "random",
        x[n_val:limit],
        y[n_val:limit],
        x[:n_val],
        y[:n_val],
        x[limit:],
        y[limit:],
        tuple(str(i) for i in range(10)),
        "image",
    )


def train(project, dataset=None, **options):
    msgs: list = []
    options.setdefault("snapshot_interval", 0.0)
    options = SessionOptions(download=False, data_dir=str(SHARED), **options)
    session = TrainingSession(project, options, dataset=dataset, on_message=msgs.append)
    t = time.perf_counter()
    result = session.run()
    print(f"  trained {project.name!r}: {result} in {time.perf_counter() - t:.1f}s")
    return session, msgs


def render(name: str, project, session, msgs, out: Path, panels, size=(1100, 700), sample: int = 0):
    from PySide6.QtWidgets import QApplication

    from nnviz.qt.panels import DatasetInfo

    ds = session.dataset
    info = DatasetInfo.from_dataset(ds)
    analysis = analyze(project.network, Context(tuple(ds.input_shape), ds.n_classes, ds.name))
    snaps = [m for m in msgs if isinstance(m, Snapshot)]
    for cls in panels:
        panel = cls()
        panel.set_context(project.network, analysis, info)
        panel.resize(*size)
        panel.show()
        for m in msgs:
            if isinstance(m, (Progress, EpochEnd)):
                panel.add_metrics(m)
            elif isinstance(m, Snapshot) and m is not snaps[-1] and len(snaps) < 400:
                panel.show_snapshot(m)  # the history (gradient curves) as the GUI would have seen it
        panel.show_snapshot(snaps[-1])
        panel.selected_sample = sample
        QApplication.processEvents()
        path = out / f"{name}-{cls.__name__}.png"
        panel.export(path)
        panel.export(path.with_suffix(".svg"))
        print(f"  {path}")
        panel.close()
        panel.deleteLater()
        QApplication.processEvents()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/panel_shots")
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtWidgets import QApplication

    from nnviz.qt.panels import (
        ActivationsPanel,
        ConvPanel,
        CurvesPanel,
        DecisionBoundaryPanel,
        GradientsPanel,
        NetworkPanel,
        PredictionPanel,
        WeightsPanel,
    )

    app = QApplication.instance() or QApplication([])  # noqa: F841
    want = set(args.only.split(",")) if args.only else None

    def wanted(name):
        return want is None or name in want

    if wanted("xor"):
        proj = load_preset("xor-one-hidden").with_training(epochs=8)
        s, msgs = train(proj)
        render(
            "xor",
            proj,
            s,
            msgs,
            out,
            [
                DecisionBoundaryPanel,
                CurvesPanel,
                WeightsPanel,
                ActivationsPanel,
                GradientsPanel,
                PredictionPanel,
            ],
        )
    if wanted("spiral"):
        proj = load_preset("spiral-playground").with_training(epochs=30)
        s, msgs = train(proj)
        render("spiral", proj, s, msgs, out, [DecisionBoundaryPanel, ActivationsPanel, WeightsPanel])
    if wanted("cnn"):
        ds = mnist()
        proj = load_preset("mnist-cnn").with_training(epochs=2, batch_size=64)
        s, msgs = train(proj, ds, probe_size=32)
        render(
            "mnist-cnn",
            proj,
            s,
            msgs,
            out,
            [ConvPanel, ActivationsPanel, PredictionPanel, CurvesPanel, WeightsPanel, GradientsPanel],
            size=(1200, 900),
        )
    if wanted("mlp"):
        ds = mnist()
        proj = load_preset("mnist-mlp-256").with_training(epochs=2)
        s, msgs = train(proj, ds, probe_size=32)
        render("mnist-mlp", proj, s, msgs, out, [WeightsPanel], size=(1200, 800))
    if wanted("vanish"):
        ds = mnist(limit=3000)
        for preset in ("deep-sigmoid-vanishing", "deep-relu"):
            proj = load_preset(preset).with_training(max_steps=60, epochs=1)
            s, msgs = train(proj, ds, probe_size=32, max_chunk=1)
            render(preset, proj, s, msgs, out, [GradientsPanel, ActivationsPanel])
    if wanted("network"):  # the network view on small, residual, large-MLP and CNN networks
        for preset, epochs in (("xor-one-hidden", 8), ("spiral-playground", 30), ("residual-circle", 10)):
            proj = load_preset(preset).with_training(epochs=epochs)
            s, msgs = train(proj)
            render(preset, proj, s, msgs, out, [NetworkPanel], size=(1000, 620))
        proj = load_preset("fashion-mlp-sigmoid").with_training(epochs=1)
        s, msgs = train(proj, mnist(name="fashion-mnist"), probe_size=32)
        render("fashion-mlp-sigmoid", proj, s, msgs, out, [NetworkPanel], size=(1100, 700))
        proj = load_preset("mnist-cnn").with_training(epochs=1, batch_size=64)
        s, msgs = train(proj, mnist(limit=3000), probe_size=32)
        render("mnist-cnn", proj, s, msgs, out, [NetworkPanel], size=(1200, 700))


if __name__ == "__main__":
    main()
