"""Dataset: a loaded, split dataset ready for training."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import DatasetError


@dataclass(frozen=True, eq=False)  # eq=False: comparing numpy arrays with == is ambiguous
class Dataset:
    """A loaded, split dataset ready for training.

    ``x_*`` are float32 (images (N, H, W, C) in [0, 1]); ``y_*`` are int32 labels in
    0..n_classes-1. ``x_val``/``y_val`` may have 0 rows. ``kind`` is "toy2d", "image"
    or "table" and tells the GUI how to draw samples.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    kind: str

    def __post_init__(self):
        # Catch wiring mistakes at construction instead of deep inside training.
        for split in ("train", "val", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if len(x) != len(y):
                raise DatasetError(
                    f"Dataset '{self.name}': x_{split} has {len(x)} rows but y_{split} has {len(y)}."
                )
        if self.kind not in ("toy2d", "image", "table"):
            raise DatasetError(f"Dataset '{self.name}': unknown kind '{self.kind}'.")

    @property
    def input_shape(self) -> tuple:
        """Shape of one sample, e.g. (2,) or (28, 28, 1)."""
        return tuple(self.x_train.shape[1:])

    @property
    def n_classes(self) -> int:
        """Number of classes (length of ``class_names``)."""
        return len(self.class_names)

    def __repr__(self) -> str:  # arrays would flood logs; shapes are what matter
        return (
            f"Dataset(name={self.name!r}, kind={self.kind!r}, input_shape={self.input_shape}, "
            f"n_classes={self.n_classes}, train={len(self.x_train)}, val={len(self.x_val)}, "
            f"test={len(self.x_test)})"
        )
