"""The moons toy set: two interleaving half circles, numpy only, deterministic by seed."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz.core import datasets as D
from nnviz.core.datasets import DatasetSpec, load_dataset, make_toy

from .test_datasets import train_mlp_accuracy


def test_moons_is_in_the_catalogue():
    e = D.entry("moons")
    assert (e.kind, e.sample_shape, e.n_classes) == ("toy2d", (2,), 2)
    assert D.input_shape("moons") == (2,) and D.n_classes("moons") == 2
    assert "moons" in D.TOY_DATASETS and e.menu_text == "Moons (toy 2D)"


@pytest.mark.parametrize("n", [4, 7, 301])
def test_moons_shape_and_balanced_classes(n):
    x, y = make_toy("moons", n, 0.1, seed=3)
    assert x.shape == (n, 2) and x.dtype == np.float32 and y.dtype == np.int32
    assert np.bincount(y, minlength=2).tolist() == [n // 2, n - n // 2]


def test_moons_deterministic_by_seed():
    a, b, c = (make_toy("moons", 200, 0.2, seed=s) for s in (5, 5, 6))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    # the seed matters at noise 0 too (angles are drawn, not evenly spaced)
    assert not np.array_equal(make_toy("moons", 50, 0.0, 1)[0], make_toy("moons", 50, 0.0, 2)[0])


def test_moons_without_noise_lie_on_two_half_circles():
    x, y = make_toy("moons", 400, 0.0, seed=0)
    p = x.astype(np.float64) / 3.0 + (0.5, 0.25)  # undo the centring and scaling
    upper, lower = p[y == 0], p[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, atol=1e-6)
    assert upper[:, 1].min() >= -1e-6 and lower[:, 1].max() <= 0.5 + 1e-6
    assert np.abs(x).max() <= 4.5 + 1e-5


def test_moons_noise_spreads_points_off_the_circles():
    x, y = make_toy("moons", 2000, 0.2, seed=0)
    p = x.astype(np.float64) / 3.0 + (0.5, 0.25)
    r = np.hypot(p[y == 0, 0], p[y == 0, 1])
    assert 0.1 < np.std(r - 1.0) < 0.3  # about the noise, in moon radii


def test_moons_need_a_curved_boundary():
    """A small tanh MLP separates them; no straight line does (the point of the set)."""
    d = load_dataset(DatasetSpec(name="moons", n_samples=400, noise=0.05, seed=0))
    assert d.kind == "toy2d" and d.class_names == ("orange", "blue")
    assert train_mlp_accuracy(d, hidden=(16,), steps=1500, lr=0.02) > 0.97
    assert train_mlp_accuracy(d, hidden=(), steps=1500, lr=0.02) < 0.92
