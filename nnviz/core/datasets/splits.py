"""Train / validation / test splits, min-max scaling and the conversion to float32."""

from __future__ import annotations

import math

import numpy as np

from .dataset import Dataset
from .errors import DatasetError
from .spec import DatasetSpec

# The largest magnitude a feature may have: training runs in float32, so a value it cannot
# hold (or whose scaling overflows on the way there) would turn into inf and then NaN.
MAX_VALUE = float(np.finfo(np.float32).max)


def check_values(x: np.ndarray, where: str, sample=lambda i: f"sample {i} (counting from 0)") -> None:
    """Refuse NaN, infinite and values float32 cannot hold, naming the first bad sample.

    ``sample(i)`` says which sample row ``i`` is in the user's terms (a CSV's row number).
    Integer data always fits; only floats are looked at.
    """
    if x.dtype.kind != "f" or x.size == 0:
        return
    flat = x.reshape(len(x), -1)
    with np.errstate(invalid="ignore"):
        bad_rows = ~(np.abs(flat) <= MAX_VALUE).all(axis=1)  # NaN compares false: bad too
    if not bad_rows.any():
        return
    i = int(np.flatnonzero(bad_rows)[0])
    row = flat[i]
    v = row[~(np.abs(row) <= MAX_VALUE)][0]
    what = "NaN" if np.isnan(v) else ("an infinite value" if np.isinf(v) else f"the value {v:.3g}")
    raise DatasetError(
        f"{where}: {sample(i)} holds {what}; every value must be a finite number of magnitude "
        f"at most {MAX_VALUE:.3g} (training uses 32-bit floats). Fix or remove that sample."
    )


def n_of(n: int, ratio: float) -> int:
    return int(math.floor(n * ratio + 0.5))


def carve(n_train: int, spec: DatasetSpec, rng, shuffle: bool):
    """Index arrays (train, val) for the training part: validation carve, then limit.

    Returns (None, empty) when nothing changes so big image arrays are not copied.
    """
    n_val = n_of(n_train, spec.validation_split)
    n_val = min(n_val, n_train - 1)
    if n_val == 0 and not spec.train_limit and not shuffle:
        return None, np.zeros(0, np.int64)
    perm = rng.permutation(n_train)
    val_idx, tr_idx = perm[:n_val], perm[n_val:]
    return tr_idx, val_idx


def minmax_apply(x_tr, others, lo=None, hi=None):
    lo = x_tr.min(axis=0) if lo is None else lo
    hi = x_tr.max(axis=0) if hi is None else hi
    span = hi - lo
    # Constant features map to 0 instead of dividing by zero.
    span = np.where(span > 0, span, 1.0)
    with np.errstate(over="ignore"):  # an overflow to inf is refused by check_values in finish
        return [((a - lo) / span).astype(np.float32) for a in [x_tr, *others]]


def finish(
    name, kind, class_names, x_tr, y_tr, x_te, y_te, spec: DatasetSpec, rng, scale_minmax=False, shuffle=False
) -> Dataset:
    """Carve validation from train, optionally min-max scale (train stats), apply train_limit."""
    if len(x_tr) < 1 or len(x_te) < 1:
        raise DatasetError(
            f"Dataset '{name}' needs at least one training and one test sample "
            f"(got {len(x_tr)} and {len(x_te)}); use more samples or another test ratio."
        )
    tr_idx, val_idx = carve(len(x_tr), spec, rng, shuffle)
    if tr_idx is None:
        x_t, y_t = x_tr, y_tr
    else:
        x_t, y_t = x_tr[tr_idx], y_tr[tr_idx]
    x_v, y_v = x_tr[val_idx], y_tr[val_idx]
    if scale_minmax:
        # Statistics from the training part only (test data must not leak into
        # preprocessing), taken before train_limit so the lesson knob "fewer samples"
        # doesn't also rescale every input.
        x_t, x_v, x_te = minmax_apply(x_t, [x_v, x_te])
        # Test values far outside a nearly constant training feature can still overflow.
        for split, x in (("validation", x_v), ("test", x_te)):
            check_values(
                x,
                f"{spec.path or name}: the {split} data scaled to the training data's range",
                lambda i: f"its sample {i} (counting from 0)",
            )
    if spec.train_limit and spec.train_limit < len(x_t):
        x_t, y_t = x_t[: spec.train_limit], y_t[: spec.train_limit]
    return Dataset(
        name=name,
        x_train=f32(x_t),
        y_train=y_t.astype(np.int32, copy=False),
        x_val=f32(x_v),
        y_val=y_v.astype(np.int32, copy=False),
        x_test=f32(x_te),
        y_test=y_te.astype(np.int32, copy=False),
        class_names=tuple(class_names),
        kind=kind,
    )


def f32(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.uint8:
        return np.divide(a, np.float32(255.0), dtype=np.float32)
    return a.astype(np.float32, copy=False)


def split_single(x, y, spec: DatasetSpec, rng):
    """Shuffle one array pair with the seed and hold out ``test_ratio`` as test."""
    n = len(x)
    if n < 2:
        raise DatasetError(
            f"'{spec.path or spec.name}' needs at least 2 samples to split into train and test, got {n}."
        )
    n_test = min(max(n_of(n, spec.test_ratio), 1), n - 1)
    perm = rng.permutation(n)
    te, tr = perm[:n_test], perm[n_test:]
    return x[tr], y[tr], x[te], y[te]


def scale_images(*arrays):
    """uint8 stays for f32 (/255 on conversion); other types /255 only if above 1."""
    if all(a.dtype == np.uint8 for a in arrays):
        return arrays
    out = [a.astype(np.float32) for a in arrays]
    if max(float(a.max()) for a in out if a.size) > 1.0:
        out = [a / np.float32(255.0) for a in out]
    return tuple(out)
