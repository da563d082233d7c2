"""What the panels know about the dataset: class names, sample shape, kind, and points to plot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class DatasetInfo:
    """What panels need to know about the dataset: class names, sample shape, kind, and points to plot."""

    class_names: tuple[str, ...]
    input_shape: tuple[int, ...]
    kind: str = "table"  # toy2d, image or table, as nnviz.core.datasets.Dataset.kind
    x_train: np.ndarray | None = None  # 2D datasets: the points to scatter (at most a few thousand)
    y_train: np.ndarray | None = None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None

    @property
    def is_2d(self) -> bool:
        return tuple(self.input_shape) == (2,)

    @property
    def is_image(self) -> bool:
        return len(self.input_shape) == 3

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @classmethod
    def from_dataset(cls, ds: Any, max_points: int = 2000) -> DatasetInfo:
        """From a loaded ``nnviz.core.datasets.Dataset``; points only for 2D data."""
        shape = tuple(ds.input_shape)
        pts = {}
        if shape == (2,):
            pts = dict(
                x_train=np.asarray(ds.x_train[:max_points]),
                y_train=np.asarray(ds.y_train[:max_points]),
                x_test=np.asarray(ds.x_test[:max_points]),
                y_test=np.asarray(ds.y_test[:max_points]),
            )
        return cls(tuple(ds.class_names), shape, ds.kind, **pts)
