"""The pieces the session and the loss surface share (nnviz.engine.training)."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz.engine.training import batch_order, batching, epoch_orders, padded_batches, with_penalty


def test_padded_batches_pad_the_last_batch_and_mask_the_padding():
    x = np.arange(14, dtype=np.float32).reshape(7, 2)
    y = np.arange(7, dtype=np.int64)
    xs, ys, ms = map(np.asarray, padded_batches(x, y, 3))
    assert xs.shape == (3, 3, 2) and ys.shape == (3, 3) and ms.shape == (3, 3)
    assert xs.dtype == np.float32 and ys.dtype == np.int32
    np.testing.assert_array_equal(xs.reshape(-1, 2)[:7], x)
    np.testing.assert_array_equal(xs.reshape(-1, 2)[7:], 0)
    np.testing.assert_array_equal(ys.reshape(-1)[:7], y)
    np.testing.assert_array_equal(ms.reshape(-1), [1] * 7 + [0] * 2)


def test_padded_batches_of_whole_batches_have_no_padding():
    xs, ys, ms = padded_batches(np.ones((6, 1), np.float32), np.zeros(6, np.int32), 3)
    assert xs.shape == (2, 3, 1) and float(np.asarray(ms).sum()) == 6


def test_epoch_orders_are_fresh_permutations_cut_into_whole_batches():
    orders = epoch_orders(7, 23, 5)
    first, second = next(orders), next(orders)
    assert first.shape == second.shape == (4, 5) and first.dtype == np.int32
    assert len(set(first.ravel())) == 20 and set(first.ravel()) <= set(range(23))
    assert not np.array_equal(first, second)
    # the same seed, the same batches: what the session draws is what the race draws
    rng = np.random.default_rng(7)
    for got in (first, second):
        np.testing.assert_array_equal(got, rng.permutation(23)[:20].reshape(4, 5))


def test_batch_order_covers_the_steps_in_whole_epochs():
    order = batch_order(3, 23, 5, steps=9)  # 4 steps an epoch: three epochs
    orders = epoch_orders(3, 23, 5)
    np.testing.assert_array_equal(order, np.concatenate([next(orders) for _ in range(3)]))


@pytest.mark.parametrize(("n", "size", "expected"), [(100, 10, (10, 10)), (7, 10, (7, 1)), (25, 10, (10, 2))])
def test_batching(n, size, expected):
    assert batching(n, size) == expected


def test_with_penalty_adds_l2_then_l1_over_the_kernels():
    k1, k2 = np.array([1.0, -2.0], np.float32), np.array([[3.0]], np.float32)
    assert float(with_penalty(1.0, [k1, k2], 0.0, 0.0)) == 1.0
    assert float(with_penalty(1.0, [k1, k2], 0.0, 0.5)) == pytest.approx(1 + 0.5 * 14)
    assert float(with_penalty(1.0, [k1, k2], 0.1, 0.5)) == pytest.approx(1 + 0.5 * 14 + 0.1 * 6)


def test_the_plane_probe_keeps_the_hidden_nodes_that_make_new_values():
    from nnviz.core.layers import LAYER_TYPES
    from nnviz.engine.training_run import _drawn_over_plane

    kept = {name for name, t in LAYER_TYPES.items() if _drawn_over_plane(t)}
    assert kept == {"Dense", "Activation", "Add", "Concatenate"}
