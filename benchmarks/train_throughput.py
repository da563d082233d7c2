"""Training throughput of nnviz's TrainingSession against a bare jitted JAX loop (and PyTorch).

The network is the ``fashion-mlp-sigmoid`` preset: Flatten -> Dense(128, sigmoid) ->
Dense(10, softmax), Adam, softmax cross-entropy, on Fashion-MNIST (60000 x 28x28x1).
All variants run in ONE process, in interleaved rounds (the order rotates every round),
so machine noise hits them alike; the table reports medians over the rounds.

Variants:
  nnviz     TrainingSession.run() (synchronous), snapshot_interval=0.1 s so the probes
            are paid for, epoch-end evaluation included. Steady-state samples/s from
            the Progress messages: (last step - first step) * batch / elapsed wall time,
            starting at the first Progress (after the call that compiles the loop).
            Row nnviz_after_ep1: the same runs timed from the end of epoch 1 on, i.e.
            without the evaluation's one-time compile (which lands at epoch 1's end).
  bare_jax  params as a dict, optax.adam, jitted lax.scan over chunks of steps, the
            training set on the device and each batch gathered inside jit (X[idx]);
            same batch and number of steps; timed after one warm-up (compile) call.
  torch     PyTorch eager, the same net and data (only if ``import torch`` works).

The memory allocator matters on XLA's CPU backend (see PERF_NOTES.md): the script
re-executes itself once with GLIBC_TUNABLES set (unless it is already set, or
--no-allocator-env is given), so every variant runs under the same allocator setting.

Usage:
  .venv/bin/python benchmarks/train_throughput.py [--rounds 5] [--epochs 3] [--batches 128,32]
Environment equivalents: NNVIZ_BENCH_ROUNDS, NNVIZ_BENCH_EPOCHS, NNVIZ_BENCH_BATCHES,
NNVIZ_BENCH_DATA (dataset folder; by default the first of $NNVIZ_DATA_DIR,
../shared/datasets beside the checkout and the app's cache that has Fashion-MNIST,
as nnviz.core.datasets.find_data_dir finds it). Without the dataset the
benchmark uses random data of the same shape (the speed does not depend on the values).

The last line printed is ``nnviz/bare_jax=<median ratio at batch 128>``.
"""

from __future__ import annotations

import argparse
import os
import sys

from allocator import ALLOCATOR_ENV, ensure_allocator_env  # benchmarks/allocator.py, beside this script


def _parse_args(argv=None):
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=int(env("NNVIZ_BENCH_ROUNDS", "5")))
    ap.add_argument(
        "--epochs",
        type=int,
        default=int(env("NNVIZ_BENCH_EPOCHS", "3")),
        help="epochs per measured run (nnviz evaluates the test set after each)",
    )
    ap.add_argument(
        "--batches", default=env("NNVIZ_BENCH_BATCHES", "128,32"), help="comma-separated batch sizes"
    )
    ap.add_argument(
        "--data",
        default=env("NNVIZ_BENCH_DATA"),
        help="folder holding fashion-mnist/ (default: nnviz.core.datasets.find_data_dir)",
    )
    ap.add_argument("--scan-chunk", type=int, default=200, help="steps per lax.scan call in bare_jax")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument(
        "--no-allocator-env", action="store_true", help="do not re-execute with the allocator environment"
    )
    ap.add_argument("-v", "--verbose", action="store_true", help="print every single measurement")
    return ap.parse_args(argv)


# ---------------------------------------------------------------- data


def load_data(folder: str):
    """(x_train, y_train, x_test, y_test, description): Fashion-MNIST or random stand-ins."""
    import numpy as np

    from nnviz.core.datasets import Dataset, DatasetSpec, find_data_dir, load_dataset

    folder = folder or find_data_dir("fashion-mnist")
    if folder and os.path.isdir(os.path.join(folder, "fashion-mnist")):
        try:
            ds = load_dataset(DatasetSpec("fashion-mnist"), folder, download=False)
            return ds, f"fashion-mnist from {folder}"
        except Exception as exc:  # a broken copy: measure speed anyway
            why = f"could not load fashion-mnist from {folder} ({exc})"
    else:
        why = f"no fashion-mnist under {folder!r}"
    rng = np.random.default_rng(0)
    ds = Dataset(
        "fashion-mnist",
        rng.random((60000, 28, 28, 1), dtype=np.float32),
        rng.integers(0, 10, 60000).astype(np.int32),
        np.zeros((0, 28, 28, 1), np.float32),
        np.zeros(0, np.int32),
        rng.random((10000, 28, 28, 1), dtype=np.float32),
        rng.integers(0, 10, 10000).astype(np.int32),
        tuple(str(i) for i in range(10)),
        "image",
    )
    return ds, f"random data of Fashion-MNIST's shape ({why})"


# ---------------------------------------------------------------- variants


def run_nnviz(project, ds, batch: int, epochs: int) -> dict:
    import time

    from nnviz.engine.messages import EpochEnd, Finished, Progress
    from nnviz.engine.options import SessionOptions
    from nnviz.engine.session import TrainingSession

    proj = project.with_training(batch_size=batch, epochs=epochs, max_steps=0)
    log: list[tuple[float, object]] = []
    session = TrainingSession(
        proj,
        SessionOptions(snapshot_interval=0.1),
        dataset=ds,
        on_message=lambda m: log.append((time.perf_counter(), m)),
    )
    result = session.run()
    if not isinstance(result, Finished) or result.reason != "completed":
        raise RuntimeError(f"nnviz training did not complete: {result}")
    # Steady state: from the first Progress, which comes after the first call (the one
    # that compiles the training loop) has finished.
    prog = [(t, m.step) for t, m in log if isinstance(m, Progress)]
    (t0, s0), (t1, s1) = prog[0], prog[-1]
    if s1 <= s0:
        raise RuntimeError("too few Progress messages; raise --epochs")
    n_eval = sum(1 for t, m in log if isinstance(m, EpochEnd) and t0 < t <= t1)
    # The same run from the end of epoch 1 on: everything (evaluation included) is compiled.
    t_ep1 = next((t for t, m in log if isinstance(m, EpochEnd)), None)
    late = [(t, s) for t, s in prog if t_ep1 is not None and t > t_ep1]
    sps_late = (
        (late[-1][1] - late[0][1]) * batch / (late[-1][0] - late[0][0])
        if len(late) >= 2 and late[-1][1] > late[0][1]
        else float("nan")
    )
    return {
        "sps": (s1 - s0) * batch / (t1 - t0),
        "sps_after_epoch1": sps_late,
        "steps": s1 - s0,
        "seconds": t1 - t0,
        "chunk": session.chunk_steps,
        "evals_in_window": n_eval,
        "train_seconds": result.metrics["train_seconds"],
        "total_steps": result.step,
        "test_acc": result.metrics["test_accuracy"],
    }


LATE = "nnviz_after_ep1"
_BARE_CACHE: dict = {}


def _bare_fns(chunk: int):
    """The jitted chunk function and an initialiser, built once per process (jit caches each chunk shape)."""
    if "fns" in _BARE_CACHE:
        return _BARE_CACHE["fns"]
    import jax
    import jax.numpy as jnp
    import optax

    tx = optax.adam(1e-3)

    def loss_fn(p, x, y):
        h = jax.nn.sigmoid(x.reshape(x.shape[0], -1) @ p["w1"] + p["b1"])
        logits = h @ p["w2"] + p["b2"]
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    grad_fn = jax.value_and_grad(loss_fn)

    @jax.jit
    def train_chunk(p, o, X, Y, idx):
        def body(carry, bi):
            p, o = carry
            loss, g = grad_fn(p, X[bi], Y[bi])
            updates, o = tx.update(g, o, p)
            return (optax.apply_updates(p, updates), o), loss

        (p, o), losses = jax.lax.scan(body, (p, o), idx)
        return p, o, losses

    def init(seed=0):
        k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
        glorot = jax.nn.initializers.glorot_uniform()
        p = {
            "w1": glorot(k1, (784, 128), jnp.float32),
            "b1": jnp.zeros(128, jnp.float32),
            "w2": glorot(k2, (128, 10), jnp.float32),
            "b2": jnp.zeros(10, jnp.float32),
        }
        return p, tx.init(p)

    _BARE_CACHE["fns"] = (train_chunk, init)
    return _BARE_CACHE["fns"]


def run_bare_jax(ds, batch: int, total_steps: int, chunk: int, seed: int = 0) -> dict:
    import time

    import jax.numpy as jnp
    import numpy as np

    train_chunk, init = _bare_fns(chunk)
    if "X" not in _BARE_CACHE:
        _BARE_CACHE["X"] = jnp.asarray(ds.x_train)
        _BARE_CACHE["Y"] = jnp.asarray(ds.y_train, dtype=jnp.int32)
    X, Y = _BARE_CACHE["X"], _BARE_CACHE["Y"]
    n = len(ds.x_train)
    spe = n // batch
    rng = np.random.default_rng(seed)
    n_chunks = max(2, round(total_steps / chunk)) + 1  # +1: the warm-up call
    need = n_chunks * chunk
    order = np.concatenate(
        [rng.permutation(n)[: spe * batch].reshape(spe, batch) for _ in range(-(-need // spe))]
    )[:need].astype(np.int32)
    order = order.reshape(n_chunks, chunk, batch)
    p, o = init(seed)
    p, o, losses = train_chunk(p, o, X, Y, jnp.asarray(order[0]))  # compile (or cache hit) + warm-up
    np.asarray(losses)
    t0 = time.perf_counter()
    for c in range(1, n_chunks):
        p, o, losses = train_chunk(p, o, X, Y, jnp.asarray(order[c]))
        last = np.asarray(losses)  # one sync per chunk, like any loop that reports losses
    dt = time.perf_counter() - t0
    steps = (n_chunks - 1) * chunk
    return {"sps": steps * batch / dt, "steps": steps, "seconds": dt, "loss": float(last[-1])}


def run_torch(ds, batch: int, total_steps: int, seed: int = 0) -> dict:
    import time

    import numpy as np
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(os.cpu_count() or 1)
    X = torch.from_numpy(np.ascontiguousarray(ds.x_train.reshape(len(ds.x_train), -1)))
    Y = torch.from_numpy(ds.y_train.astype(np.int64))
    net = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.Sigmoid(), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    lossf = torch.nn.CrossEntropyLoss()
    n = len(X)
    spe = n // batch
    rng = np.random.default_rng(seed)
    warm = 20
    need = total_steps + warm
    order = np.concatenate(
        [rng.permutation(n)[: spe * batch].reshape(spe, batch) for _ in range(-(-need // spe))]
    )[:need]
    order = torch.from_numpy(order.astype(np.int64))

    def step(i):
        bi = order[i]
        opt.zero_grad(set_to_none=True)
        loss = lossf(net(X[bi]), Y[bi])
        loss.backward()
        opt.step()
        return loss

    for i in range(warm):
        step(i)
    t0 = time.perf_counter()
    for i in range(warm, need):
        loss = step(i)
    float(loss)
    dt = time.perf_counter() - t0
    return {"sps": total_steps * batch / dt, "steps": total_steps, "seconds": dt}


# ---------------------------------------------------------------- main


def main(argv=None) -> int:
    args = _parse_args(argv)
    ensure_allocator_env(__file__, args.no_allocator_env)

    import platform
    import statistics
    import time

    import jax

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from nnviz.core.presets import load_preset

    batches = [int(b) for b in str(args.batches).split(",") if b.strip()]
    have_torch = False
    if not args.no_torch:
        try:
            import torch  # noqa: F401

            have_torch = True
        except ImportError:
            print("torch: not installed")
    t_all = time.perf_counter()
    project = load_preset("fashion-mlp-sigmoid")
    ds, data_desc = load_data(args.data)
    print(f"data: {data_desc}")
    print(
        f"jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}; allocator env: "
        + (
            ", ".join(f"{k}={os.environ.get(k)}" for k in ALLOCATOR_ENV)
            if not args.no_allocator_env
            else "(not set)"
        )
    )
    print(
        f"rounds={args.rounds} epochs/run={args.epochs} batches={batches} bare scan chunk={args.scan_chunk}"
    )

    variants = ["nnviz", "bare_jax"] + (["torch"] if have_torch else [])
    rows = ["nnviz", LATE] + variants[1:]  # LATE: the nnviz run measured from epoch 1's end
    sps: dict[tuple[str, int], list[float]] = {}
    ratios: dict[tuple[str, int], list[float]] = {}
    for r in range(args.rounds):
        for b in batches:
            steps = args.epochs * (len(ds.x_train) // b)
            order = variants[r % len(variants) :] + variants[: r % len(variants)]
            got = {}
            for v in order:
                if v == "nnviz":
                    res = run_nnviz(project, ds, b, args.epochs)
                elif v == "bare_jax":
                    res = run_bare_jax(ds, b, steps, args.scan_chunk, seed=r)
                else:
                    res = run_torch(ds, b, steps, seed=r)
                got[v] = res
                sps.setdefault((v, b), []).append(res["sps"])
                if v == "nnviz":
                    got[LATE] = {"sps": res["sps_after_epoch1"]}
                    sps.setdefault((LATE, b), []).append(res["sps_after_epoch1"])
                if args.verbose:
                    extra = {
                        k: (round(x, 3) if isinstance(x, float) else x) for k, x in res.items() if k != "sps"
                    }
                    print(f"  round {r + 1} B{b} {v:9s} {res['sps']:10.0f}/s {extra}", flush=True)
            for v in rows:  # ratios within a round: the noise they share cancels
                ratios.setdefault((v, b), []).append(got[v]["sps"] / got["bare_jax"]["sps"])
        print(f"round {r + 1}/{args.rounds} done ({time.perf_counter() - t_all:.0f} s)", flush=True)

    print()
    print("| variant | batch | median samples/s | min..max | median ratio vs bare_jax |")
    print("| --- | --- | --- | --- | --- |")
    for b in batches:
        for v in rows:
            xs = sps[(v, b)]
            print(
                f"| {v} | {b} | {statistics.median(xs):,.0f} | {min(xs):,.0f}..{max(xs):,.0f} "
                f"| {statistics.median(ratios[(v, b)]):.2f} |"
            )
    print(f"total {time.perf_counter() - t_all:.0f} s")
    print(
        f"({LATE}: the same nnviz runs timed from the end of epoch 1, after the evaluation's "
        "one-time compile; the nnviz row and the last line include it)"
    )
    key_b = 128 if 128 in batches else batches[0]
    print(f"nnviz/bare_jax={statistics.median(ratios[('nnviz', key_b)]):.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
