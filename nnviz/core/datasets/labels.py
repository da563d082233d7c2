"""Turning a file's labels (numbers or class names) into 0..K-1 and class names.

Whole-number labels are class numbers, and two mistakes are refused rather than turned
into a class of their own: a label far beyond the others (255 among MNIST's 0..9, the
"missing" marker of many tools; see :func:`check_label_range`) and, where a file has
its own test split, a test label that no training sample has.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .errors import DatasetError

SampleFn = Callable[[int], str]

# A class number is refused as out of range when it lies beyond twice the next largest
# plus this many: 255 among 0..9 or 100 among 0..4 is a stray value, 7 beside 3 is a class.
LABEL_GAP = 10


def is_number(s: str) -> bool:
    """Whether ``s`` reads as a number (a CSV header cell does not)."""
    try:
        float(s)
        return True
    except ValueError:
        return False


def _from_zero(i: int) -> str:
    return f"sample {i} (counting from 0)"


def classes_text(values) -> str:
    """Class numbers as a reader wants them: "0 to 9" when they run on, else a short list."""
    vals = [int(v) for v in values]
    if len(vals) > 2 and vals == list(range(vals[0], vals[-1] + 1)):
        return f"{vals[0]} to {vals[-1]}"
    shown = ", ".join(map(str, vals[:12]))
    return shown + (f" and {len(vals) - 12} more" if len(vals) > 12 else "")


def check_label_range(
    arrays: Sequence[np.ndarray], wheres: Sequence[str], samples: Sequence[SampleFn]
) -> None:
    """Refuse a class number far beyond the others (see LABEL_GAP), naming file, sample and value."""
    uniq = np.unique(np.concatenate([np.asarray(a, np.int64) for a in arrays]))
    # The first jump too far, from the bottom: what lies above it is stray (254 and 255 alike).
    jumps = np.flatnonzero(uniq[1:] > 2 * np.maximum(uniq[:-1], 0) + LABEL_GAP)
    if not jumps.size:
        return
    keep = uniq[: int(jumps[0]) + 1]
    limit = int(keep[-1])
    for a, where, sample in zip(arrays, wheres, samples):
        over = np.flatnonzero(np.asarray(a, np.int64) > limit)
        if over.size:
            i = int(over[0])
            raise DatasetError(
                f"{where}: {sample(i)} has the label {int(a[i])}, far outside the other labels "
                f"(the classes expected are {classes_text(keep)}). Class labels are numbers "
                f"0..K-1 (or names); correct or remove that sample."
            )


def check_test_classes(
    train: np.ndarray, test: np.ndarray, where: str, sample: SampleFn = _from_zero
) -> None:
    """Refuse a test label no training sample has: the network could never learn that class."""
    known = np.unique(train)
    unseen = np.flatnonzero(~np.isin(test, known))
    if unseen.size:
        i = int(unseen[0])
        shown = classes_text(known) if known.dtype.kind in "iu" else ", ".join(map(str, known.tolist()[:12]))
        raise DatasetError(
            f"{where}: {sample(i)} has the label {test[i]!s}, a class that no training sample has "
            f"(the training classes are {shown}). Add training samples of that class or remove "
            f"it from the test set."
        )


def labels_from_strings(
    labels: list[str], where: str, sample: SampleFn = _from_zero
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Map label strings to 0..K-1. All-numeric labels must be integers (sorted numerically)."""
    uniq = sorted(set(labels))
    if all(is_number(u) for u in uniq):
        vals = {}
        for u in uniq:
            f = float(u)
            if not math.isfinite(f) or f != int(f):
                i = labels.index(u)
                raise DatasetError(
                    f"{where}: {sample(i)} has the label '{u}'; labels must be whole numbers or class names."
                )
            vals[u] = int(f)
        numbers = np.array([vals[lab] for lab in labels], np.int64)
        check_label_range([numbers], [where], [sample])
        ints = sorted(set(vals.values()))
        index = {v: i for i, v in enumerate(ints)}
        y = np.array([index[v] for v in numbers.tolist()], dtype=np.int32)
        return y, tuple(str(v) for v in ints)
    index = {u: i for i, u in enumerate(uniq)}
    return np.array([index[lab] for lab in labels], dtype=np.int32), tuple(uniq)


def labels_from_arrays(arrays: list[np.ndarray], where: str, wheres: Sequence[str] | None = None):
    """Remap several label arrays jointly to 0..K-1; class names are the original values.

    ``wheres`` names each array in messages (its file, or "file: y_test"); the last array
    is the test split, whose classes must all occur in the first (training) one.
    """
    wheres = list(wheres) if wheres is not None else [where] * len(arrays)
    fixed = []
    for a, w in zip(arrays, wheres):
        if a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim != 1:
            raise DatasetError(f"{w}: labels must be one value per sample, got shape {a.shape}.")
        if a.dtype.kind == "f":
            bad = np.flatnonzero(~np.isfinite(a) | (a != np.round(a)))
            if bad.size:
                i = int(bad[0])
                raise DatasetError(
                    f"{w}: {_from_zero(i)} has the label {a[i]!r}; labels must be whole numbers "
                    f"or class names."
                )
            a = a.astype(np.int64)
        elif a.dtype.kind == "b":
            a = a.astype(np.int64)
        elif a.dtype.kind == "S":
            a = a.astype("U")
        fixed.append(a)
    kinds = {a.dtype.kind for a in fixed}
    if len(kinds) > 1 and not kinds <= {"i", "u"}:
        raise DatasetError(f"{where}: training and test labels have different types.")
    if kinds <= {"i", "u"}:
        check_label_range(fixed, wheres, [_from_zero] * len(fixed))
    if len(fixed) >= 2:
        check_test_classes(fixed[0], fixed[-1], wheres[-1])
    uniq = np.unique(np.concatenate(fixed))
    out = [np.searchsorted(uniq, a).astype(np.int32) for a in fixed]
    return out, tuple(str(u) for u in uniq.tolist())
