"""How long a large project takes to load and analyse: it should grow linearly with its nodes.

For 1,000, 2,000, 4,000 and 8,000 nodes (Input, residual blocks of Dense, Dense and Add,
an Output; edges listed last to first, every other node without a name: the
generator tests/core/test_project_limits.py counts the work of), medians over rounds of
``Project.load`` + ``analyze``, against a baseline in the same process that only parses
the file's JSON. ``x prev`` is the time over the previous row's: 2.0 is linear, 4.0
quadratic. tests/core/test_project_limits.py checks the growth by counting work; the
time it takes is measured here.

    .venv/bin/python benchmarks/project_load.py [--rounds 5] [--sizes 1000,2000,4000,8000]

The last line reads ``growth=<median time ratio per doubling>``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sizes", default="1000,2000,4000,8000")
    args = ap.parse_args()

    from nnviz.core.graph import analyze
    from nnviz.core.layers import Context
    from nnviz.core.project import Project
    from tests.bad_inputs.projects import big_project

    ctx = Context((2,), 2, "xor")
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for n in sizes:
            paths[n] = Path(tmp) / f"{n}.json"
            paths[n].write_text(json.dumps(big_project(n), indent=2))
        times: dict[int, list[float]] = {n: [] for n in sizes}
        parse: dict[int, list[float]] = {n: [] for n in sizes}
        for _ in range(args.rounds):  # interleaved rounds: a busy moment hits every size alike
            for n in sizes:
                t0 = time.perf_counter()
                json.loads(paths[n].read_bytes())
                t1 = time.perf_counter()
                project = Project.load(paths[n])
                analysis = analyze(project.network, ctx)
                t2 = time.perf_counter()
                assert analysis.ok and len(project.network.nodes) == n
                parse[n].append(t1 - t0)
                times[n].append(t2 - t1)
        print(
            f"{'nodes':>7} {'MB':>6} {'json only s':>12} {'load+analyze s':>15} {'/json':>6} {'x prev':>7} {'us/node':>8}"
        )
        growth = []
        prev = None
        for n in sizes:
            t, p = statistics.median(times[n]), statistics.median(parse[n])
            ratio = t / prev if prev else float("nan")
            if prev:
                growth.append(ratio)
            mb = paths[n].stat().st_size / 1e6
            print(f"{n:>7,} {mb:>6.2f} {p:>12.4f} {t:>15.4f} {t / p:>6.1f} {ratio:>7.2f} {1e6 * t / n:>8.1f}")
            prev = t
    print(f"growth={statistics.median(growth):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
