"""The compiled training step and what every trainer of a network shares with it.

The training session and the loss surface (its optimizer race and its loss) train and
evaluate the same network the same way, so they take these from here and nothing is
written twice: the optimizer built from the table in ``core/optimizers.py``, the L1/L2
penalty on the kernels, a split padded into equal batches for evaluation, the order in
which an epoch visits its mini-batches, and the jitted loop itself (``compiled_steps``).

JAX is imported inside the functions, so importing this module stays light.
"""

from __future__ import annotations

import functools
import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..core.optimizers import optimizer

log = logging.getLogger(__name__)

REPORT_SAMPLES = 16  # most confidently wrong samples kept in an EvalReport
CHUNK_CAP = 256  # the most steps one train_steps call may take: the length of its loss buffers


def make_optimizer(name: str, learning_rate: float, momentum: float = 0.9):
    """An Optax optimizer whose learning rate lives in its state, so it can change live."""
    import optax

    spec = optimizer(name)
    kwargs = spec.optax_kwargs({"momentum": momentum})
    build = getattr(optax, spec.optax)
    return optax.inject_hyperparams(lambda learning_rate: build(learning_rate, **kwargs))(
        learning_rate=learning_rate
    )


_cache_enabled = False


def enable_compilation_cache() -> None:
    """Keep XLA's compiled code on disk, so a network trained before starts at once next time.

    Off when NNVIZ_JIT_CACHE=0 (the test suite sets it, to leave no files behind).
    """
    global _cache_enabled
    if _cache_enabled or os.environ.get("NNVIZ_JIT_CACHE", "1") == "0":
        return
    _cache_enabled = True
    import jax

    from ..core.datasets import default_cache_dir

    try:
        jax.config.update("jax_compilation_cache_dir", str(default_cache_dir() / "jax"))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    except Exception:  # an old jax without these options: compile every time, as before
        log.info("persistent compilation cache unavailable", exc_info=True)


@dataclass(frozen=True)
class CompiledSteps:
    """The jitted functions of one architecture + optimizer; shared by every session that fits."""

    train_steps: Callable
    eval_all: Callable
    probe: Callable


@functools.lru_cache(maxsize=16)
def compiled_steps(
    graphdef, head, optimizer: str, momentum: float, l1: float, l2: float, layer_ids: tuple[str, ...]
) -> CompiledSteps:
    """Jitted train / eval / probe functions, built once per architecture.

    The key holds everything the traced code depends on; the learning rate lives in the
    optimizer state (inject_hyperparams), so Reset and Train again, or a new learning
    rate, reuse the compiled code instead of recompiling.
    """
    import jax
    import jax.numpy as jnp
    import optax
    from flax import nnx

    from .model import head_losses, head_probabilities

    tx = make_optimizer(optimizer, 1.0, momentum)  # update() reads the rate from the state

    def loss_fn(p, x, y, key):
        out = nnx.merge(graphdef, p)(x, train=True, key=key)
        data_loss = head_losses(head, out, y).mean()
        loss = data_loss
        if l1 or l2:
            # A network without weights has no kernels (and no "layers"): its penalty is 0.
            loss = with_penalty(loss, [lp["kernel"] for lp in p.get("layers", {}).values()], l1, l2)
        acc = jnp.mean(jnp.argmax(head_probabilities(head, out), axis=-1) == y)
        return loss, (data_loss, acc)

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def train_steps(p, o, key, X, Y, order, start, n):
        """``n`` steps (1 <= n <= CHUNK_CAP) on the batches ``order[start:start + n]``.

        The step count is a traced value, so one compiled loop serves every chunk
        length, an epoch's tail, a single step and slow motion alike: no length gets a
        compilation of its own, and as XLA can neither unroll nor inline a loop whose
        trip count it does not know, every step runs the same code whatever the chunk
        length, so training is bit-identical however it is cut into calls. (With
        ``lax.scan`` over a fixed length, each length compiled separately, a scan of one
        step was inlined and rounded differently, and epoch tails went two steps a call.)
        The last gradient rides in the carry and its norms are taken once per call:
        per-step norms cost ~15 % of a small MLP's step (benchmarks/train_throughput.py).
        """

        def body(i, carry):
            p, o, key, _, losses, accs = carry
            key, sub = jax.random.split(key)
            batch_idx = jax.lax.dynamic_index_in_dim(order, start + i, keepdims=False)
            (_, (data_loss, acc)), g = grad_fn(p, X[batch_idx], Y[batch_idx], sub)
            updates, o = tx.update(g, o, p)
            return (
                optax.apply_updates(p, updates),
                o,
                key,
                g,
                losses.at[i].set(data_loss),
                accs.at[i].set(acc),
            )

        g0 = jax.tree.map(jnp.zeros_like, p)
        buf = jnp.zeros(CHUNK_CAP, jnp.float32)
        p, o, key, g, losses, accs = jax.lax.fori_loop(0, n, body, (p, o, key, g0, buf, buf))
        norms = (
            jnp.stack([optax.tree.norm(g["layers"][nid]) for nid in layer_ids])
            if layer_ids
            else jnp.zeros((0,))
        )
        return p, o, key, losses, accs, norms

    def eval_batch(p, x, y, mask):
        out = nnx.merge(graphdef, p)(x)
        per = head_losses(head, out, y)
        probs = head_probabilities(head, out)
        pred = jnp.argmax(probs, axis=-1)
        return jnp.sum(per * mask), jnp.sum((pred == y) * mask), probs, pred

    def eval_all(p, xs, ys, masks):
        """Loss and correct count of a whole split, and what an EvalReport needs.

        One call (and one sync) for a whole split: per-batch calls cost ~10 % of a
        Fashion-MNIST MLP epoch in Python overhead alone. The confusion matrix and the
        most confidently wrong samples come out of the same pass, so the report costs
        only a scatter-add, a top-k and a gather; callers that do not want them leave
        them on the device.
        """

        def body(total, batch):
            loss, ok, probs, pred = eval_batch(p, *batch)
            return (total[0] + loss, total[1] + ok), (probs, pred)

        (loss, ok), (probs, pred) = jax.lax.scan(body, (jnp.float32(0), jnp.float32(0)), (xs, ys, masks))
        n_classes = probs.shape[-1]
        probs, pred = probs.reshape(-1, n_classes), pred.reshape(-1)
        y, m = ys.reshape(-1), masks.reshape(-1) > 0
        confusion = jnp.zeros((n_classes, n_classes), jnp.int32).at[y, pred].add(m.astype(jnp.int32))
        wrong = m & (pred != y)
        score = jnp.where(wrong, jnp.max(probs, axis=-1), -jnp.inf)
        _, idx = jax.lax.top_k(score, min(REPORT_SAMPLES, score.shape[0]))  # ties: lower index first
        report = (
            confusion,
            idx,
            wrong[idx],
            y[idx],
            pred[idx],
            probs[idx],
            xs.reshape(-1, *xs.shape[2:])[idx],
        )
        return loss, ok, report

    def probe(p, x, y):
        out = nnx.merge(graphdef, p)(x, collect=True)
        return out["nodes"], head_probabilities(head, out), head_losses(head, out, y).mean()

    return CompiledSteps(jax.jit(train_steps), jax.jit(eval_all), jax.jit(probe))


def with_penalty(loss, kernels: Sequence, l1: float, l2: float):
    """``loss`` plus ``l2·Σk²`` and ``l1·Σ|k|`` over the layers' kernels, added in that order.

    The training step and the loss surface both call this, so the surface's loss is the
    one training minimises, to the last bit.
    """
    import jax.numpy as jnp

    if l2:
        loss = loss + l2 * sum(jnp.sum(k * k) for k in kernels)
    if l1:
        loss = loss + l1 * sum(jnp.sum(jnp.abs(k)) for k in kernels)
    return loss


def padded_batches(x: np.ndarray, y: np.ndarray, batch: int):
    """A set split into equal batches of ``batch`` samples (one compiled shape), on the device.

    The last batch is padded with zeros; ``masks`` is 1 for real samples and 0 for padding,
    so sums over batches count each sample once. Returns ``(xs, ys, masks)`` shaped
    ``(n_batches, batch, ...)``; labels are int32.
    """
    import jax.numpy as jnp

    n = len(x)
    n_batches = max(1, math.ceil(n / batch))
    pad = n_batches * batch - n
    if pad:
        x = np.concatenate([x, np.zeros((pad, *x.shape[1:]), x.dtype)])
        y = np.concatenate([y, np.zeros(pad, y.dtype)])
    mask = np.concatenate([np.ones(n, np.float32), np.zeros(pad, np.float32)])
    shape = (n_batches, batch)
    return (
        jnp.asarray(x.reshape(*shape, *x.shape[1:])),
        jnp.asarray(y.astype(np.int32).reshape(shape)),
        jnp.asarray(mask.reshape(shape)),
    )


def batching(n_train: int, batch_size: int) -> tuple[int, int]:
    """(samples per mini-batch, mini-batches per epoch) for ``n_train`` samples (at least one)."""
    batch = min(batch_size, n_train)
    return batch, max(1, n_train // batch)


def epoch_orders(seed: int, n_train: int, batch: int) -> Iterator[np.ndarray]:
    """The mini-batches of epoch after epoch: one int32 array (steps_per_epoch, batch) of sample indices each.

    Each epoch is a fresh permutation of the training set from one generator seeded with
    ``seed``, cut into whole batches (the remainder is left out), so the same seed draws
    the same batches in the session and in the optimizer race.
    """
    rng = np.random.default_rng(seed)
    per_epoch = max(1, n_train // batch)
    while True:
        perm = rng.permutation(n_train)[: per_epoch * batch]
        yield perm.reshape(per_epoch, batch).astype(np.int32)


def batch_order(seed: int, n_train: int, batch: int, steps: int) -> np.ndarray:
    """The batches of the first ``steps`` steps (whole epochs of ``epoch_orders``), one row a step."""
    per_epoch = max(1, n_train // batch)
    orders = epoch_orders(seed, n_train, batch)
    return np.concatenate([next(orders) for _ in range(max(1, math.ceil(steps / per_epoch)))])


def key_after(seed: int, steps: int):
    """The random key ``train_steps`` carries after ``steps`` steps from ``PRNGKey(seed)``.

    Each step splits the key and keeps the first half (the second drives Dropout), so a
    run resumed at ``steps`` draws the same Dropout masks as one that never stopped.
    """
    import jax

    key = jax.random.PRNGKey(seed)
    if steps <= 0:
        return key
    return _advance_key(key, steps)


@functools.cache
def _advance_jitted():
    import jax

    def advance(key, n):
        return jax.lax.fori_loop(0, n, lambda i, k: jax.random.split(k)[0], key)

    return jax.jit(advance)


def _advance_key(key, steps: int):
    return _advance_jitted()(key, np.int32(steps))
