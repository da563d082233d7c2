"""Planes through weight space: their directions (random, PCA of a path), projections onto them, grids over them.

Plain numpy: a direction is a θ-sized vector, a plane a centre and one or two directions.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from .errors import SurfaceError


class Layout(Protocol):
    """Where each layer's kernel and bias lie in θ (a LossLandscape says), for filter normalisation."""

    # (node id, "kernel" | "bias") -> (start, stop, shape)
    layer_slices: dict[tuple[str, str], tuple[int, int, tuple[int, ...]]]


def filter_normalized(direction: np.ndarray, theta: np.ndarray, landscape: Layout) -> np.ndarray:
    """Li et al.'s filter normalisation of a direction, for Flax layouts.

    Every kernel slice along the last axis (one output unit of a Dense (in, out) kernel,
    one filter of a Conv (kh, kw, in, out) kernel) is scaled to the norm of the same
    slice of θ; biases are set to zero, so the plane does not move them.
    """
    out = np.zeros_like(direction, dtype=np.float32)
    for (_nid, k), (lo, hi, shape) in landscape.layer_slices.items():
        if k != "kernel" or not shape:
            continue
        d = np.asarray(direction[lo:hi], np.float32).reshape(shape)
        w = np.asarray(theta[lo:hi], np.float32).reshape(shape)
        axes = tuple(range(len(shape) - 1))
        dn = np.sqrt(np.sum(d * d, axis=axes, keepdims=True))
        wn = np.sqrt(np.sum(w * w, axis=axes, keepdims=True))
        out[lo:hi] = (d * (wn / np.maximum(dn, 1e-12))).ravel()
    return out


def random_directions(theta: np.ndarray, landscape: Layout, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian directions, filter-normalised to θ (same seed, same directions)."""
    rng = np.random.default_rng(seed)
    d1 = rng.standard_normal(theta.size).astype(np.float32)
    d2 = rng.standard_normal(theta.size).astype(np.float32)
    return filter_normalized(d1, theta, landscape), filter_normalized(d2, theta, landscape)


def pca_directions(
    thetas: np.ndarray, center: np.ndarray
) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """The top two principal directions of ``thetas − center`` and the fraction of variance each explains.

    Through the T x T Gram matrix (T points, P parameters, T << P): one matrix product
    and a small eigen-decomposition instead of an SVD of the T x P matrix. Signs are
    fixed so that the first point has x <= 0 and y >= 0 (the path runs left to right).
    """
    m = np.asarray(thetas, np.float32) - np.asarray(center, np.float32)[None]
    gram = (m @ m.T).astype(np.float64)
    total = float(np.trace(gram))
    if len(m) < 2 or total <= 0:
        raise SurfaceError("the path needs at least two different points for PCA directions")
    vals, vecs = np.linalg.eigh(gram)
    order = np.argsort(vals)[::-1]
    dirs, explained = [], []
    for i in order[:2]:
        s2 = max(float(vals[i]), 0.0)
        if s2 <= total * 1e-12:  # a path along one straight line: any orthogonal second direction
            d = _orthogonal_unit(dirs[0] if dirs else None, m.shape[1])
        else:
            d = (m.T @ vecs[:, i].astype(np.float32)) / np.float32(math.sqrt(s2))
            d = d / max(float(np.linalg.norm(d)), 1e-30)
        dirs.append(d.astype(np.float32))
        explained.append(s2 / total)
    while len(dirs) < 2:
        dirs.append(_orthogonal_unit(dirs[0], m.shape[1]))
        explained.append(0.0)
    d1, d2 = dirs
    if float(m[0] @ d1) > 0:
        d1 = -d1
    if float(m[0] @ d2) < 0:
        d2 = -d2
    return d1, d2, (explained[0], explained[1])


def _orthogonal_unit(d: np.ndarray | None, n: int) -> np.ndarray:
    e = np.zeros(n, np.float32)
    if n == 0:
        return e
    if d is None:
        e[0] = 1
        return e
    e[int(np.argmin(np.abs(d)))] = 1
    e -= (e @ d) * d
    return e / max(float(np.linalg.norm(e)), 1e-30)


def project_onto_plane(
    points: np.ndarray, center: np.ndarray, d1: np.ndarray, d2: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares coordinates of ``points − center`` in span(d1, d2) and the distance off it.

    Works for non-orthogonal directions (two random ones) too; with ``d2`` None it is a
    line. Returns (coords (T, 2) or (T, 1), residual norms (T,)).
    """
    m = np.asarray(points, np.float64) - np.asarray(center, np.float64)[None]
    basis = np.stack([d1] if d2 is None else [d1, d2], axis=1).astype(np.float64)  # (P, k)
    gram = basis.T @ basis
    coords = np.linalg.lstsq(gram, basis.T @ m.T, rcond=None)[0].T  # (T, k)
    resid = m - coords @ basis.T
    return coords, np.linalg.norm(resid, axis=1)


def grid_around(
    xy: np.ndarray, resolution: int, margin: float = 0.3, min_aspect: float = 0.4
) -> tuple[np.ndarray, np.ndarray]:
    """Grid axes covering the points ``xy`` (T, 2) with a margin on every side.

    The shorter side spans at least ``min_aspect`` of the longer one, so a path that
    runs almost straight still shows the valley walls around it.
    """
    lo, hi = xy.min(axis=0).astype(np.float64), xy.max(axis=0).astype(np.float64)
    span = np.maximum(hi - lo, 1e-6)
    longest = float(span.max())
    span = np.maximum(span, min_aspect * longest)
    mid = (lo + hi) / 2
    lo, hi = mid - span * (0.5 + margin), mid + span * (0.5 + margin)
    return (
        np.linspace(lo[0], hi[0], resolution, dtype=np.float32),
        np.linspace(lo[1], hi[1], resolution, dtype=np.float32),
    )


def check_resolution(resolution: int) -> int:
    """``resolution`` as an int, or a SurfaceError when a grid that size makes no sense."""
    resolution = int(resolution)
    if not 2 <= resolution <= 501:
        raise SurfaceError(f"the grid must have from 2 to 501 points a side (got {resolution})")
    return resolution
