"""How long load_dataset takes on the official MNIST / Fashion-MNIST files.

Per dataset, medians over rounds of: ``load_dataset`` cold (the verification cache
cleared, so every file is hashed), warm (files trusted by path, size and mtime, as in a
second run of the window), and a baseline in the same process that does the least any
loader must: gunzip the four files and turn the images into float32 in [0, 1]. The
files come from nnviz.core.datasets.find_data_dir ($NNVIZ_DATA_DIR, ../shared/datasets
beside the checkout, the app's cache). tests/core/test_datasets.py checks that each file
is hashed once; the time it takes is measured here.

    .venv/bin/python benchmarks/dataset_load.py [--rounds 5]

The last line reads ``warm/baseline=<median ratio over the datasets>``.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def baseline(folder: Path, name: str) -> None:
    """The least work: read (and gunzip) the four IDX files, images to float32 / 255."""
    import numpy as np

    from nnviz.core.datasets import entry

    for f in entry(name).files:
        gz = folder / name / f.filename
        data = gzip.decompress(gz.read_bytes()) if gz.is_file() else (folder / name / f.name).read_bytes()
        if "images" in f.name:
            np.divide(np.frombuffer(data, np.uint8, offset=16), np.float32(255.0), dtype=np.float32)
        else:
            np.frombuffer(data, np.uint8, offset=8).astype(np.int32)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)

    from nnviz.core.datasets import DatasetSpec, checksums, find_data_dir, load_dataset, names

    ratios = []
    print(f"{'dataset':<16}{'baseline s':>12}{'cold s':>10}{'warm s':>10}{'warm/base':>11}")
    for name in names("image"):
        folder = find_data_dir(name)
        if folder is None:
            print(f"{name:<16}  no files found; skipped")
            continue
        times: dict[str, list[float]] = {"base": [], "cold": [], "warm": []}
        for _ in range(args.rounds):  # interleaved, so drift hits every variant alike
            t = time.perf_counter()
            baseline(folder, name)
            times["base"].append(time.perf_counter() - t)
            checksums._VERIFIED.clear()
            for kind in ("cold", "warm"):
                t = time.perf_counter()
                load_dataset(DatasetSpec(name), folder, download=False)
                times[kind].append(time.perf_counter() - t)
        base, cold, warm = (statistics.median(times[k]) for k in ("base", "cold", "warm"))
        ratios.append(warm / base)
        print(f"{name:<16}{base:>12.3f}{cold:>10.3f}{warm:>10.3f}{warm / base:>11.2f}")
    if not ratios:
        print("warm/baseline=nan")
        return 1
    print(f"warm/baseline={statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
