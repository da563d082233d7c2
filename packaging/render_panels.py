"""Train a few presets briefly and render every visualisation panel to PNG, to look at them.

    python packaging/render_panels.py [--out /tmp/panel_shots] [--only xor,cnn,...]

Runs offscreen. MNIST comes from where nnviz.core.datasets.find_data_dir finds it
($NNVIZ_DATA_DIR, ../shared/datasets, the app's cache), else random images.
The panels are the registry's (``nnviz.qt.panels.PANELS``): a shot renders every
registered panel that applies to its network and data, or the ones its ``keys`` name.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from nnviz.core.datasets import Dataset, DatasetSpec, find_data_dir, load_dataset  # noqa: E402
from nnviz.core.graph import analyze  # noqa: E402
from nnviz.core.layers import Context  # noqa: E402
from nnviz.core.presets import load_preset  # noqa: E402
from nnviz.engine.messages import EpochEnd, Progress, Snapshot  # noqa: E402
from nnviz.engine.options import SessionOptions  # noqa: E402
from nnviz.engine.session import TrainingSession  # noqa: E402


def mnist(limit: int = 6000, test: int = 1000, name: str = "mnist") -> Dataset:
    folder = find_data_dir(name)
    if folder is not None:
        ds = load_dataset(DatasetSpec(name, validation_split=0.1, train_limit=limit), folder, download=False)
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
    options = SessionOptions(download=False, data_dir=find_data_dir(), **options)
    session = TrainingSession(project, options, dataset=dataset, on_message=msgs.append)
    t = time.perf_counter()
    result = session.run()
    print(f"  trained {project.name!r}: {result} in {time.perf_counter() - t:.1f}s")
    return session, msgs


@dataclass(frozen=True)
class Shot:
    """One preset, trained briefly, and the panels drawn from its run."""

    group: str  # what --only names
    name: str  # the start of the pictures' file names
    preset: str
    training: dict  # Project.with_training arguments
    keys: tuple[str, ...] | None = None  # the panels (description keys); None: every one that applies
    images: str | None = None  # train on this image set (see mnist()), not the preset's own data
    limit: int = 6000  # training images
    session: dict = field(default_factory=dict)  # more TrainingSession arguments
    size: tuple[int, int] = (1100, 700)


_PROBE = {"probe_size": 32}
SHOTS = (
    Shot("xor", "xor", "xor-one-hidden", {"epochs": 8}),
    Shot("spiral", "spiral", "spiral-playground", {"epochs": 30}, ("decision", "activations", "weights")),
    Shot(
        "cnn",
        "mnist-cnn",
        "mnist-cnn",
        {"epochs": 2, "batch_size": 64},
        ("conv", "activations", "prediction", "curves", "weights", "gradients"),
        images="mnist",
        session=_PROBE,
        size=(1200, 900),
    ),
    Shot(
        "mlp",
        "mnist-mlp",
        "mnist-mlp-256",
        {"epochs": 2},
        ("weights",),
        "mnist",
        session=_PROBE,
        size=(1200, 800),
    ),
    *(
        Shot(
            "vanish",
            preset,
            preset,
            {"max_steps": 60, "epochs": 1},
            ("gradients", "activations"),
            "mnist",
            limit=3000,
            session={**_PROBE, "max_chunk": 1},
        )
        for preset in ("deep-sigmoid-vanishing", "deep-relu")
    ),
    # the network view on small, residual, large-MLP and CNN networks
    *(
        Shot("network", preset, preset, {"epochs": epochs}, ("network",), size=(1000, 620))
        for preset, epochs in (("xor-one-hidden", 8), ("spiral-playground", 30), ("residual-circle", 10))
    ),
    Shot(
        "network",
        "fashion-mlp-sigmoid",
        "fashion-mlp-sigmoid",
        {"epochs": 1},
        ("network",),
        "fashion-mnist",
        session=_PROBE,
    ),
    Shot(
        "network",
        "mnist-cnn",
        "mnist-cnn",
        {"epochs": 1, "batch_size": 64},
        ("network",),
        "mnist",
        limit=3000,
        session=_PROBE,
        size=(1200, 700),
    ),
)


def panels_for(network, info, keys=None) -> list:
    """The registered panel classes that apply to ``network`` and ``info`` (those of ``keys`` only, if given)."""
    from nnviz.qt.panels import applicable

    return [cls for cls in applicable(network, info) if keys is None or cls.description.key in keys]


def surface_of(project, session, msgs, resolution: int = 25):
    """The loss surface around the run's path (the descent plane), for the surface panel."""
    from nnviz.engine import surface as sf

    recorder = sf.TrajectoryRecorder()
    for m in msgs:
        recorder(m)
    landscape = sf.LossLandscape.from_project(
        project, session.dataset, samples=500, seed=project.training.seed
    )
    return sf.trajectory_surface(landscape, recorder.trajectory(), resolution)


def render(name: str, project, session, msgs, out: Path, keys=None, size=(1100, 700), sample: int = 0):
    from PySide6.QtWidgets import QApplication

    from nnviz.qt.panels import DatasetInfo

    ds = session.dataset
    info = DatasetInfo.from_dataset(ds)
    analysis = analyze(project.network, Context(tuple(ds.input_shape), ds.n_classes, ds.name))
    snaps = [m for m in msgs if isinstance(m, Snapshot)]
    for cls in panels_for(project.network, info, keys):
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
        if hasattr(panel, "set_surface"):  # drawn from a surface computed on the run's path, not snapshots
            panel.set_surface(surface_of(project, session, msgs))
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
    ap.add_argument(
        "--only",
        default="",
        help="comma-separated groups: " + ", ".join(dict.fromkeys(s.group for s in SHOTS)),
    )
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])  # noqa: F841
    want = set(args.only.split(",")) if args.only else None
    for shot in SHOTS:
        if want is not None and shot.group not in want:
            continue
        proj = load_preset(shot.preset).with_training(**shot.training)
        ds = mnist(limit=shot.limit, name=shot.images) if shot.images else None
        s, msgs = train(proj, ds, **shot.session)
        render(shot.name, proj, s, msgs, out, shot.keys, size=shot.size)


if __name__ == "__main__":
    main()
