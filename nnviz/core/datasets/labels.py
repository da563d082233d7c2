"""Turning a file's labels (numbers or class names) into 0..K-1 and class names."""

from __future__ import annotations

import math

import numpy as np

from .errors import DatasetError


def is_number(s: str) -> bool:
    """Whether ``s`` reads as a number (a CSV header cell does not)."""
    try:
        float(s)
        return True
    except ValueError:
        return False


def labels_from_strings(labels: list[str], where: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Map label strings to 0..K-1. All-numeric labels must be integers (sorted numerically)."""
    uniq = sorted(set(labels))
    if all(is_number(u) for u in uniq):
        vals = {}
        for u in uniq:
            f = float(u)
            if not math.isfinite(f) or f != int(f):
                raise DatasetError(f"{where}: labels must be whole numbers or class names, found '{u}'.")
            vals[u] = int(f)
        ints = sorted(set(vals.values()))
        index = {v: i for i, v in enumerate(ints)}
        y = np.array([index[vals[lab]] for lab in labels], dtype=np.int32)
        return y, tuple(str(v) for v in ints)
    index = {u: i for i, u in enumerate(uniq)}
    return np.array([index[lab] for lab in labels], dtype=np.int32), tuple(uniq)


def labels_from_arrays(arrays: list[np.ndarray], where: str):
    """Remap several label arrays jointly to 0..K-1; class names are the original values."""
    fixed = []
    for a in arrays:
        if a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim != 1:
            raise DatasetError(f"{where}: labels must be one value per sample, got shape {a.shape}.")
        if a.dtype.kind == "f":
            if not np.isfinite(a).all() or not np.all(a == np.round(a)):
                raise DatasetError(f"{where}: labels are not whole numbers (found e.g. fractional values).")
            a = a.astype(np.int64)
        elif a.dtype.kind == "b":
            a = a.astype(np.int64)
        elif a.dtype.kind == "S":
            a = a.astype("U")
        fixed.append(a)
    kinds = {a.dtype.kind for a in fixed}
    if len(kinds) > 1 and not kinds <= {"i", "u"}:
        raise DatasetError(f"{where}: training and test labels have different types.")
    uniq = np.unique(np.concatenate(fixed))
    out = [np.searchsorted(uniq, a).astype(np.int32) for a in fixed]
    return out, tuple(str(u) for u in uniq.tolist())
