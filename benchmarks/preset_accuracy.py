"""Train the presets that carry an accuracy target and print what they reach.

Each preset is trained exactly as shipped (its epochs, batch, optimizer and seed) through
nnviz's own TrainingSession on the official files (where nnviz.core.datasets.find_data_dir
finds them: $NNVIZ_DATA_DIR, ../shared/datasets, the app's cache), and the table
shows test accuracy against the target and the seconds per epoch (training only: the
mean of the epochs after the first, which also pays for compiling).

    .venv/bin/python benchmarks/preset_accuracy.py [--data-dir DIR] [NAME ...]

The last line reads ``all_targets_met=<true|false>``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS = {  # preset -> minimum test accuracy (issue 2, "Done when")
    "fashion-mlp-sigmoid": 0.87,
    "mnist-mlp-256": 0.978,
    "mnist-mlp-sgd": 0.955,
    "mnist-cnn": 0.988,
    "fashion-cnn": 0.90,
    "spiral-playground": 0.95,
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", default=list(TARGETS))
    ap.add_argument("--data-dir", help="folder holding mnist/ and fashion-mnist/ (default: find_data_dir)")
    args = ap.parse_args()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")

    from nnviz.core.datasets import find_data_dir

    data_dir = args.data_dir or find_data_dir()

    from nnviz.core.presets import load_preset
    from nnviz.engine.messages import Finished
    from nnviz.engine.options import SessionOptions
    from nnviz.engine.session import TrainingSession

    rows, ok = [], True
    for name in args.names:
        project = load_preset(name)
        t0 = time.perf_counter()
        options = SessionOptions(data_dir=data_dir, download=False, snapshot_interval=float("inf"))
        session = TrainingSession(project, options)
        result = session.run()
        wall = time.perf_counter() - t0
        if not isinstance(result, Finished):
            print(f"{name}: {result.reason}", file=sys.stderr)
            rows.append((name, "failed", TARGETS.get(name), "", "", f"{wall:.1f}"))
            ok = False
            continue
        acc = result.metrics["test_accuracy"]
        epochs = [e.seconds for e in session.history]
        per_epoch = statistics.mean(epochs[1:]) if len(epochs) > 1 else epochs[0]
        target = TARGETS.get(name)
        met = target is None or acc >= target
        ok &= met
        rows.append((name, f"{acc:.4f}", target, "yes" if met else "NO", f"{per_epoch:.2f}", f"{wall:.1f}"))
        print(
            f"{name}: test accuracy {acc:.4f} after {result.metrics['epochs']} epochs "
            f"({result.metrics['steps']} steps)",
            file=sys.stderr,
            flush=True,
        )

    print("| preset | test accuracy | target | met | s/epoch | wall s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, acc, target, met, per_epoch, wall in rows:
        print(f"| {name} | {acc} | {target if target is not None else ''} | {met} | {per_epoch} | {wall} |")
    print(f"all_targets_met={'true' if ok else 'false'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
