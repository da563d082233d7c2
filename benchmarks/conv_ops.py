"""Training throughput of the small CNN: reference NHWC ops vs nnviz.engine.ops.

Net: conv8 3x3 same + relu - maxpool 2 - conv16 3x3 same + relu - maxpool 2 - flatten -
dense10, softmax cross-entropy, Adam(1e-3), 28x28x1 inputs (MNIST where
nnviz.core.datasets.find_data_dir finds it: $NNVIZ_DATA_DIR, ../shared/datasets, the
app's cache; else random).

Variants, all with the same initial parameters and batches:
  ref-step   lax.conv_general_dilated NHWC + flax.linen.max_pool (reduce_window), one
             jax.jit call per step (the obvious Flax way)
  ops-step   nnviz.engine.ops (CHWN im2col conv, custom-VJP pool), one jit call per step
  ops-scan   nnviz.engine.ops, SCAN steps per jit call inside lax.scan

Rounds are interleaved (every variant and batch size once per round) and the table
shows medians of samples/s, with half the min-max range as a noise indicator.  The whole measurement runs in two child processes, with
and without GLIBC_TUNABLES (which glibc reads only at process start), alternated.

    .venv/bin/python benchmarks/conv_ops.py [--rounds 5] [--procs 2] [--batches 32 128]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

GLIBC_TUNABLES = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967295"
ROOT = Path(__file__).resolve().parents[1]
SCAN = 50
TARGET_SAMPLES = 6400  # per timed measurement, so B32 and B128 measurements last alike


# ----------------------------------------------------------------------------- child


def _load_data(n):
    import numpy as np

    from nnviz.core.datasets import DatasetSpec, find_data_dir, load_dataset

    folder = find_data_dir("mnist")
    if folder is not None:
        d = load_dataset(DatasetSpec("mnist"), folder, download=False)
        return d.x_train[:n], d.y_train[:n], "mnist"
    rng = np.random.default_rng(0)
    return rng.random((n, 28, 28, 1), np.float32), rng.integers(0, 10, n).astype(np.int32), "random"


def _child(batches, rounds):
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    sys.path.insert(0, str(ROOT))
    import flax.linen as nn
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax
    from jax import lax

    from nnviz.engine import ops

    rng = np.random.default_rng(0)

    def he(shape, fan_in):
        return jnp.asarray(rng.standard_normal(shape, np.float32) * np.sqrt(2.0 / fan_in))

    params0 = {
        "k1": he((3, 3, 1, 8), 9),
        "b1": jnp.zeros(8),
        "k2": he((3, 3, 8, 16), 72),
        "b2": jnp.zeros(16),
        "w": he((7 * 7 * 16, 10), 784),
        "b": jnp.zeros(10),
    }

    def ref_net(p, x):
        dn = ("NHWC", "HWIO", "NHWC")
        h = lax.conv_general_dilated(x, p["k1"], (1, 1), "SAME", dimension_numbers=dn) + p["b1"]
        h = nn.max_pool(jax.nn.relu(h), (2, 2), (2, 2), "VALID")
        h = lax.conv_general_dilated(h, p["k2"], (1, 1), "SAME", dimension_numbers=dn) + p["b2"]
        h = nn.max_pool(jax.nn.relu(h), (2, 2), (2, 2), "VALID")
        return h.reshape(h.shape[0], -1) @ p["w"] + p["b"]

    def ops_net(p, x):
        h = ops.to_internal(x)
        h = ops.max_pool(jax.nn.relu(ops.conv2d(h, p["k1"], p["b1"], padding="same")))
        h = ops.max_pool(jax.nn.relu(ops.conv2d(h, p["k2"], p["b2"], padding="same")))
        h = ops.to_nhwc(h)  # Flatten in H, W, C order, as the model builder does
        return h.reshape(h.shape[0], -1) @ p["w"] + p["b"]

    opt = optax.adam(1e-3)

    def make_step(net):
        def loss_fn(p, x, y):
            return optax.softmax_cross_entropy_with_integer_labels(net(p, x), y).mean()

        def step(p, s, x, y):
            loss, g = jax.value_and_grad(loss_fn)(p, x, y)
            upd, s = opt.update(g, s, p)
            return optax.apply_updates(p, upd), s, loss

        return step

    def per_step(net):
        step = jax.jit(make_step(net), donate_argnums=(0, 1))

        def run(p, s, xs, ys):  # xs: (chunks, SCAN, B, 28, 28, 1)
            loss = None
            for c in range(xs.shape[0]):
                for i in range(xs.shape[1]):
                    p, s, loss = step(p, s, xs[c, i], ys[c, i])
            return p, s, loss

        return run

    def scanned(net):
        step = make_step(net)

        def chunk(p, s, xs, ys):
            def body(carry, xy):
                p, s = carry
                p, s, loss = step(p, s, *xy)
                return (p, s), loss

            (p, s), losses = lax.scan(body, (p, s), (xs, ys))
            return p, s, losses[-1]

        chunk = jax.jit(chunk, donate_argnums=(0, 1))

        def run(p, s, xs, ys):
            loss = None
            for c in range(xs.shape[0]):
                p, s, loss = chunk(p, s, xs[c], ys[c])
            return p, s, loss

        return run

    variants = {"ref-step": per_step(ref_net), "ops-step": per_step(ops_net), "ops-scan": scanned(ops_net)}
    x_all, y_all, source = _load_data(TARGET_SAMPLES * 2)
    data = {}
    for b in batches:
        chunks = max(1, TARGET_SAMPLES // (b * SCAN))
        n = chunks * SCAN * b
        # Pre-sliced on device so no variant pays for host -> device copies while timed.
        data[b] = (
            jnp.asarray(x_all[:n].reshape(chunks, SCAN, b, 28, 28, 1)),
            jnp.asarray(y_all[:n].reshape(chunks, SCAN, b)),
        )

    def fresh():
        p = jax.tree.map(jnp.array, params0)  # copies: the step functions donate them
        return p, opt.init(p)

    results = {"source": source, "compile_s": {}, "first_loss": {}, "samples_s": {}}
    # Warm-up: compile each variant and check all variants agree on the training losses.
    for b in batches:
        xs, ys = data[b]
        for name, run in variants.items():
            p, s = fresh()
            t0 = time.perf_counter()
            one = slice(None, 1) if name == "ops-scan" else (slice(None, 1), slice(None, 1))
            _, _, loss = run(p, s, xs[one], ys[one])  # one step, or one scan chunk
            jax.block_until_ready(loss)
            results["compile_s"][f"{name} B{b}"] = round(time.perf_counter() - t0, 2)
            p, s = fresh()
            _, _, loss = run(p, s, xs, ys)
            results["first_loss"][f"{name} B{b}"] = float(loss)
    for _ in range(rounds):
        for b in batches:
            xs, ys = data[b]
            for name, run in variants.items():
                p, s = fresh()
                jax.block_until_ready((p, s))
                t0 = time.perf_counter()
                _, _, loss = run(p, s, xs, ys)
                jax.block_until_ready(loss)
                dt = time.perf_counter() - t0
                results["samples_s"].setdefault(f"{name} B{b}", []).append(xs.shape[0] * SCAN * b / dt)
    print("RESULT " + json.dumps(results))


# ---------------------------------------------------------------------------- parent


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=4, help="interleaved rounds per child process")
    ap.add_argument("--procs", type=int, default=2, help="child processes per allocator setting")
    ap.add_argument("--batches", type=int, nargs="+", default=[32, 128])
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        _child(a.batches, a.rounds)
        return

    settings = {"default malloc": None, "GLIBC_TUNABLES": GLIBC_TUNABLES}
    samples = {k: {} for k in settings}
    info = {}
    for proc in range(a.procs):
        for label, tun in settings.items():  # alternate settings so drift hits both
            env = dict(os.environ)
            env.pop("GLIBC_TUNABLES", None)
            if tun:
                env["GLIBC_TUNABLES"] = tun
            cmd = [
                sys.executable,
                __file__,
                "--child",
                "--rounds",
                str(a.rounds),
                "--batches",
                *map(str, a.batches),
            ]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
            if out.returncode or not line:
                sys.exit(f"child failed ({label}):\n{out.stdout}\n{out.stderr}")
            r = json.loads(line[-1][len("RESULT ") :])
            for k, v in r["samples_s"].items():
                samples[label].setdefault(k, []).extend(v)
            info.setdefault(label, r)
            print(f"  process {proc + 1}/{a.procs} [{label}] done", file=sys.stderr)

    first = next(iter(info.values()))
    print(
        f"data: {first['source']}, {a.procs} processes x {a.rounds} rounds per setting, "
        f"{os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.1f}"
    )
    print(
        "\nfirst-call (compile) seconds, default malloc:",
        ", ".join(f"{k} {v}" for k, v in first["compile_s"].items()),
    )
    print(
        "loss after the warm-up pass (all variants should agree):",
        ", ".join(f"{k} {v:.5f}" for k, v in first["first_loss"].items()),
    )
    print()
    print(
        "| variant | batch | samples/s (default malloc) | vs ref | samples/s (GLIBC_TUNABLES) | vs ref | tunables effect |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for b in a.batches:
        for name in ("ref-step", "ops-step", "ops-scan"):
            k = f"{name} B{b}"
            m = {lab: statistics.median(samples[lab][k]) for lab in settings}
            r = {lab: m[lab] / statistics.median(samples[lab][f"ref-step B{b}"]) for lab in settings}
            # Half the min-max range relative to the median: how noisy the cell is.
            sp = {lab: (max(samples[lab][k]) - min(samples[lab][k])) / 2 / m[lab] for lab in settings}
            d, g = m["default malloc"], m["GLIBC_TUNABLES"]
            print(
                f"| {name} | {b} | {d:,.0f} (±{sp['default malloc']:.0%}) | {r['default malloc']:.2f}x | "
                f"{g:,.0f} (±{sp['GLIBC_TUNABLES']:.0%}) | {r['GLIBC_TUNABLES']:.2f}x | {g / d - 1:+.0%} |"
            )


if __name__ == "__main__":
    main()
