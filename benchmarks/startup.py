"""Cold start of ``python -m nnviz`` to the first shown window, in fresh processes.

Each run starts a new interpreter with NNVIZ_STARTUP_PROBE=1: the app prints the wall
clock when its main window is first exposed, then quits. The time counted is from just
before the process is spawned to that moment, so interpreter start-up, imports and
building the window are all in it. Offscreen by default (``--platform xcb`` under a
display). The last line reads ``startup_s=<median>``.

    python benchmarks/startup.py [--runs 7] [--preset NAME] [--platform offscreen]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run(args: argparse.Namespace, config_dir: str) -> tuple[float, float]:
    env = dict(
        os.environ,
        NNVIZ_STARTUP_PROBE="1",
        QT_QPA_PLATFORM=args.platform,
        XDG_CONFIG_HOME=config_dir,
        XDG_DATA_HOME=config_dir,
    )
    cmd = [sys.executable, "-m", "nnviz"] + (["--preset", args.preset] if args.preset else [])
    t0 = time.time()
    r = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("nnviz-startup-probe")), None)
    if r.returncode != 0 or line is None:
        raise SystemExit(f"run failed (exit {r.returncode}):\n{r.stdout}\n{r.stderr}")
    fields = dict(kv.split("=") for kv in line.split()[1:])
    return float(fields["wall"]) - t0, float(fields["since_import"])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--preset", default="mnist-cnn", help="preset to open ('' for a new project)")
    p.add_argument("--platform", default="offscreen")
    args = p.parse_args()
    times = []
    with tempfile.TemporaryDirectory() as config_dir:
        one_run(args, config_dir)  # warm the OS file cache once; not counted
        for i in range(args.runs):
            total, inside = one_run(args, config_dir)
            times.append(total)
            print(
                f"run {i + 1}: {total:.3f} s to the first shown window "
                f"({inside:.3f} s of it after nnviz.qt.app was imported)",
                flush=True,
            )
    print(
        f"min {min(times):.3f} s, max {max(times):.3f} s, runs {len(times)}, python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, platform {args.platform}"
    )
    print(f"startup_s={statistics.median(times):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
