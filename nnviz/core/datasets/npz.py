"""Keras-style .npz files (x_train, y_train, x_test, y_test)."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from .dataset import Dataset
from .errors import DatasetError
from .labels import labels_from_arrays
from .splits import check_values, finish, scale_images


def load_npz(path):
    """Read a Keras-style .npz: returns ``(x_train, y_train, x_test, y_test)`` as stored."""
    path = Path(path)
    keys = ("x_train", "y_train", "x_test", "y_test")
    try:
        if path.stat().st_size == 0:
            raise DatasetError(f"{path} is empty.")
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in keys if k not in z.files]
            if missing:
                raise DatasetError(
                    f"{path} lacks the array(s) {', '.join(missing)}; a dataset .npz needs "
                    f"x_train, y_train, x_test, y_test (found: {', '.join(z.files) or 'nothing'})."
                )
            arrays = tuple(z[k] for k in keys)
    except DatasetError:
        raise
    except FileNotFoundError:
        raise DatasetError(f"{path} does not exist.") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as e:
        raise DatasetError(f"{path} is not a readable .npz file ({e}).") from None
    for k, a in zip(keys, arrays):
        if a.dtype == object or a.dtype.kind not in "biufUS":
            raise DatasetError(f"{path}: array {k} has unsupported type {a.dtype}.")
        if a.ndim == 0:
            raise DatasetError(f"{path}: array {k} is a scalar, expected one row per sample.")
    return arrays


def dataset_from_npz(path: Path, name, spec, rng) -> Dataset:
    x_tr, y_tr, x_te, y_te = load_npz(path)
    for xs, ys, sx, sy in ((x_tr, y_tr, "x_train", "y_train"), (x_te, y_te, "x_test", "y_test")):
        if xs.dtype.kind not in "biuf":
            raise DatasetError(f"{path}: {sx} must be numeric, got {xs.dtype}.")
        if len(xs) != len(ys):
            raise DatasetError(f"{path}: {sx} has {len(xs)} rows but {sy} has {len(ys)}.")
        if len(xs) == 0:
            raise DatasetError(f"{path}: {sx} is empty.")
    if x_tr.shape[1:] != x_te.shape[1:]:
        raise DatasetError(
            f"{path}: x_train samples have shape {x_tr.shape[1:]} but x_test {x_te.shape[1:]}."
        )
    check_values(x_tr, f"{path}: x_train")
    check_values(x_te, f"{path}: x_test")
    (y_tr, y_te), names = labels_from_arrays([y_tr, y_te], str(path), [f"{path}: y_train", f"{path}: y_test"])
    if x_tr.ndim in (3, 4):
        if x_tr.ndim == 3:
            x_tr, x_te = x_tr[..., None], x_te[..., None]
        x_tr, x_te = scale_images(x_tr, x_te)
        return finish(name, "image", names, x_tr, y_tr, x_te, y_te, spec, rng)
    if x_tr.ndim == 2:
        kind = "toy2d" if x_tr.shape[1] == 2 else "table"
        return finish(
            name,
            kind,
            names,
            x_tr.astype(np.float64),
            y_tr,
            x_te.astype(np.float64),
            y_te,
            spec,
            rng,
            scale_minmax=True,
        )
    raise DatasetError(f"{path}: x_train has shape {x_tr.shape}; expected (N, features) or (N, H, W[, C]).")
