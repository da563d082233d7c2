"""The toy sets: 2-D points in two classes, generated with numpy (TensorFlow Playground's four, and moons)."""

from __future__ import annotations

import math

import numpy as np

from .catalogue import names
from .errors import DatasetError


def make_toy(name: str, n_samples: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Generate a TensorFlow Playground 2-D set: float32 (N, 2) points, int32 (N,) labels.

    Follows Playground's ``dataset.ts`` (coordinates within about [-6, 6], noise 0..0.5
    scaled the same way). Class 1 is Playground's +1 (blue), class 0 its -1 (orange).
    Classes are exactly balanced (class 1 gets the extra point when N is odd). The
    result is deterministic given ``seed`` and returned in shuffled order.
    """
    if name not in names("toy2d"):
        raise DatasetError(f"Unknown toy dataset '{name}'; choose one of {', '.join(names('toy2d'))}.")
    n = int(n_samples)
    if n < 2:
        raise DatasetError(f"Toy dataset '{name}' needs at least 2 samples, got {n}.")
    noise = float(noise)
    rng = np.random.default_rng(seed)
    n0 = n // 2
    n1 = n - n0
    x, y = GENERATORS[name](rng, n0, n1, noise)
    perm = rng.permutation(n)
    return x[perm].astype(np.float32), y[perm].astype(np.int32)


def _balanced(rng, n0: int, n1: int, draw) -> tuple[np.ndarray, np.ndarray]:
    """Draw Playground's point process in batches, keep the first n0/n1 of each label.

    Circle and XOR label a point by where its *noisy* copy falls, so class counts would
    drift with noise. Rejection keeps Playground's per-class distribution while fixing
    the class prior at 50/50, so accuracy numbers stay comparable across noise levels.
    """
    got0, got1 = [], []
    c0 = c1 = 0
    while c0 < n0 or c1 < n1:
        m = max(64, 2 * (n0 + n1))
        pts, lab = draw(m)
        p0, p1 = pts[lab == 0][: n0 - c0], pts[lab == 1][: n1 - c1]
        got0.append(p0)
        got1.append(p1)
        c0 += len(p0)
        c1 += len(p1)
    x = np.concatenate(got0 + got1)
    y = np.concatenate([np.zeros(n0, np.int32), np.ones(n1, np.int32)])
    return x, y


def _circle(rng, n0, n1, noise):
    radius = 5.0

    def draw(m):
        # Half from the inner disk (r < 2.5), half from the outer ring (3.5..5), r uniform
        # like Playground (so the disk is denser at its centre).
        inner = rng.random(m) < 0.5
        r = np.where(inner, rng.uniform(0, radius * 0.5, m), rng.uniform(radius * 0.7, radius, m))
        a = rng.uniform(0, 2 * math.pi, m)
        pts = np.stack([r * np.sin(a), r * np.cos(a)], axis=1)
        # Playground's noise moves only the point used for labelling, not the point shown.
        noisy = pts + rng.uniform(-radius, radius, (m, 2)) * noise
        lab = (np.hypot(noisy[:, 0], noisy[:, 1]) < radius * 0.5).astype(np.int32)
        return pts, lab

    return _balanced(rng, n0, n1, draw)


def _xor(rng, n0, n1, noise):
    padding = 0.3  # Playground keeps points off the axes so noise-free XOR has a margin

    def draw(m):
        pts = rng.uniform(-5, 5, (m, 2))
        pts += np.where(pts > 0, padding, -padding)
        noisy = pts + rng.uniform(-5, 5, (m, 2)) * noise
        lab = (noisy[:, 0] * noisy[:, 1] >= 0).astype(np.int32)
        return pts, lab

    return _balanced(rng, n0, n1, draw)


def _gauss(rng, n0, n1, noise):
    # Playground maps noise 0..0.5 linearly to a *variance* of 0.5..4.
    std = math.sqrt(0.5 + noise * 7.0)
    pos = rng.normal(2.0, std, (n1, 2))
    neg = rng.normal(-2.0, std, (n0, 2))
    return np.concatenate([neg, pos]), np.concatenate([np.zeros(n0, np.int32), np.ones(n1, np.int32)])


def _spiral(rng, n0, n1, noise):
    def arm(k, delta):
        # Playground places points at i/n along the arm; we draw the position uniformly
        # instead so the seed matters even at noise 0 (train and test points then differ).
        u = rng.random(k)
        r = u * 5.0
        t = 1.75 * u * 2 * math.pi + delta
        pts = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        return pts + rng.uniform(-1, 1, (k, 2)) * noise

    return (
        np.concatenate([arm(n0, math.pi), arm(n1, 0.0)]),
        np.concatenate([np.zeros(n0, np.int32), np.ones(n1, np.int32)]),
    )


def _moons(rng, n0, n1, noise):
    # scikit-learn's make_moons, our own numpy: class 0 on the upper half circle, class 1 on
    # a lower one shifted right and down so the two interleave. Angles are drawn at random
    # (not evenly spaced) so the seed matters at noise 0; noise is a Gaussian std in units
    # of the moons' radius (sklearn's usual 0.1 to 0.3 sit mid-slider). Centred and scaled
    # x3 to span about [-4.5, 4.5] x [-2.25, 2.25], like the other sets on Playground's plane.
    t0, t1 = rng.uniform(0, math.pi, n0), rng.uniform(0, math.pi, n1)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    pts = np.concatenate([upper, lower]) - (0.5, 0.25)
    pts = pts + rng.normal(0.0, 1.0, pts.shape) * noise
    return 3.0 * pts, np.concatenate([np.zeros(n0, np.int32), np.ones(n1, np.int32)])


# The generator of each toy set in the catalogue: (rng, n0, n1, noise) -> points (n0 + n1, 2)
# and labels, the n0 points of class 0 first.
GENERATORS = {"circle": _circle, "xor": _xor, "gauss": _gauss, "spiral": _spiral, "moons": _moons}
