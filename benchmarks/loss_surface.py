"""How long a 51x51 loss surface takes: ``fashion-mlp-sigmoid`` and ``mnist-cnn`` on 1,000 samples.

Each preset's freshly initialised weights are the centre of a plane spanned by two
filter-normalised random directions (``nnviz.engine.surface``); the grid is evaluated with
``LossLandscape.plane``, the same call the CLI and the app make. The first call compiles
and is reported on its own; the table gives the median, min and max of the timed
repeats that follow. Speed does not depend on the values, so without the datasets the
benchmark uses random images of the same shape.

The script re-executes itself once with the glibc allocator settings the other
benchmarks use (PERF_NOTES.md), so XLA's per-call buffers do not page-fault.

Usage:
  .venv/bin/python benchmarks/loss_surface.py [--repeats 5] [--cnn-repeats 3] [--grid 51] [--samples 1000]
Environment: NNVIZ_BENCH_DATA (dataset folder; by default the first of $NNVIZ_DATA_DIR,
../shared/datasets beside the checkout and the app's cache that has the files).
The last line printed is ``mlp_51x51_s=<median> cnn_51x51_s=<median>`` (goal: MLP <= 3 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from allocator import ensure_allocator_env  # benchmarks/allocator.py, beside this script

ROOT = Path(__file__).resolve().parents[1]


def _parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats for the MLP")
    ap.add_argument(
        "--cnn-repeats", type=int, default=2, help="timed repeats for the CNN (minutes each on 2 cores)"
    )
    ap.add_argument("--grid", type=int, default=51)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument(
        "--data",
        default=os.environ.get("NNVIZ_BENCH_DATA"),
        help="folder holding mnist/ and fashion-mnist/ (default: nnviz.core.datasets.find_data_dir)",
    )
    ap.add_argument("--no-allocator-env", action="store_true")
    return ap.parse_args(argv)


def _dataset(project, folder: str, samples: int):
    """The preset's dataset from ``folder``, or random images of the same shape."""
    import numpy as np

    from nnviz.core.datasets import Dataset, DatasetError, find_data_dir, load_dataset

    folder = folder or find_data_dir(project.dataset.name)
    try:
        if folder is None:
            raise DatasetError(f"no {project.dataset.name} files")
        return load_dataset(project.dataset, folder, download=False), "real"
    except DatasetError:
        rng = np.random.default_rng(0)
        x = rng.random((samples, 28, 28, 1), dtype=np.float32)
        y = rng.integers(0, 10, samples).astype(np.int32)
        empty_x, empty_y = x[:0], y[:0]
        return Dataset(
            "random", x, y, empty_x, empty_y, x[:10], y[:10], tuple(str(i) for i in range(10)), "image"
        ), "random"


def measure(preset: str, args, repeats: int) -> dict:
    import numpy as np

    from nnviz.core.presets import load_preset
    from nnviz.engine.surface import LossLandscape, random_directions

    project = load_preset(preset)
    ds, kind = _dataset(project, args.data, args.samples)
    landscape = LossLandscape.from_project(project, ds, samples=args.samples)
    theta = landscape.theta_init
    d1, d2 = random_directions(theta, landscape, seed=0)
    axis = np.linspace(-1, 1, args.grid, dtype=np.float32)
    t = time.perf_counter()
    first = landscape.plane(theta, d1, d2, axis, axis)
    first_s = time.perf_counter() - t
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        grid = landscape.plane(theta, d1, d2, axis, axis)
        times.append(time.perf_counter() - t)
    assert np.allclose(grid, first, rtol=1e-5, atol=1e-6, equal_nan=True)
    return {
        "preset": preset,
        "data": kind,
        "params": landscape.n_params,
        "chunk": landscape.chunk,
        "fast_first_layer": landscape.fast_layer is not None,
        "first_s": first_s,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "points_per_s": args.grid**2 / statistics.median(times),
    }


def main(argv=None) -> int:
    args = _parse_args(argv)
    ensure_allocator_env(__file__, args.no_allocator_env)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    rows = [measure("fashion-mlp-sigmoid", args, args.repeats), measure("mnist-cnn", args, args.cnn_repeats)]
    g = args.grid
    print(f"{g}x{g} grid, {args.samples} samples; seconds per grid (first call includes compiling)")
    head = f"{'preset':<22}{'data':<8}{'params':>8}{'chunk':>7}{'fast':>6}{'first':>8}{'median':>8}{'min':>8}{'max':>8}{'points/s':>10}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['preset']:<22}{r['data']:<8}{r['params']:>8,}{r['chunk']:>7}{'yes' if r['fast_first_layer'] else 'no':>6}"
            f"{r['first_s']:>8.2f}{r['median_s']:>8.2f}{r['min_s']:>8.2f}{r['max_s']:>8.2f}{r['points_per_s']:>10.0f}"
        )
    print(f"mlp_{g}x{g}_s={rows[0]['median_s']:.2f} cnn_{g}x{g}_s={rows[1]['median_s']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
