"""Messages a training session sends to whoever watches it.

Frozen dataclasses holding numpy arrays and plain numbers, never JAX arrays, so a
listener on another thread can read them without touching JAX.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field, fields

import numpy as np


@dataclass(frozen=True)
class Loading:
    """The dataset is being loaded or downloaded (``total`` 0 when unknown)."""

    what: str
    done: int = 0
    total: int = 0


@dataclass(frozen=True)
class Compiling:
    """JAX is compiling the model; the first step takes longer because of it."""

    what: str


@dataclass(frozen=True)
class StateChanged:
    """running, paused, stopping or idle."""

    state: str


@dataclass(frozen=True)
class Progress:
    """Training metrics averaged over the steps since the previous Progress."""

    step: int
    epoch: int  # 1-based epoch in progress
    epoch_fraction: float  # 0..1 through the current epoch
    total_steps: int
    train_loss: float
    train_accuracy: float
    learning_rate: float
    samples_per_second: float


@dataclass(frozen=True)
class EpochEnd:
    """An epoch is complete: its mean training metrics and the validation and test metrics."""

    epoch: int
    step: int
    train_loss: float
    train_accuracy: float
    val_loss: float  # nan without a validation split
    val_accuracy: float
    test_loss: float
    test_accuracy: float
    seconds: float  # wall time of the epoch's training, evaluation excluded
    # What the network gets wrong on the test split (the validation split without one);
    # None without either, and on messages made by hand.
    report: EvalReport | None = None

    def record(self) -> dict:
        """Its numbers as a plain dict (no report), as a RunState's history keeps them."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "report"}

    @classmethod
    def from_record(cls, record: dict) -> EpochEnd:
        """An EpochEnd from ``record`` (its report None); a number it lacks is NaN (0 for epoch and step)."""
        values = {
            f.name: record.get(f.name, 0 if f.name in ("epoch", "step") else math.nan)
            for f in fields(cls)
            if f.name != "report"
        }
        values["epoch"], values["step"] = int(values["epoch"]), int(values["step"])
        return cls(**{k: v if k in ("epoch", "step") else float(v) for k, v in values.items()})


@dataclass(frozen=True, eq=False)  # holds arrays: compared by identity
class EvalReport:
    """What the network gets wrong on a held-out split at an epoch's end.

    ``confusion[t, p]`` counts the samples of class t predicted as p (every sample of the
    split). The ``wrong_*`` arrays describe the most confidently wrong samples, at most
    16, the most confident first: their indices in the split, the inputs themselves (as
    the split holds them, e.g. NHWC images or 2D points), true and predicted classes, and
    the predicted class probabilities, (m, n_classes).
    """

    split: str  # "test" or "val"
    epoch: int
    step: int
    confusion: np.ndarray  # (n_classes, n_classes) int64, rows true, columns predicted
    wrong_indices: np.ndarray  # (m,) int64
    wrong_x: np.ndarray  # (m, *input_shape)
    wrong_true: np.ndarray  # (m,) int64
    wrong_predicted: np.ndarray  # (m,) int64
    wrong_probabilities: np.ndarray  # (m, n_classes) float32

    @property
    def n_samples(self) -> int:
        return int(self.confusion.sum())

    @property
    def accuracy(self) -> float:
        n = self.n_samples
        return float(np.trace(self.confusion)) / n if n else float("nan")

    @property
    def wrong_confidence(self) -> np.ndarray:
        """The probability each wrong sample's predicted class got, (m,)."""
        return (
            np.take_along_axis(self.wrong_probabilities, self.wrong_predicted[:, None], axis=1)[:, 0]
            if len(self.wrong_predicted)
            else np.zeros(0, np.float32)
        )


@dataclass(frozen=True)
class Snapshot:
    """What the network looks like inside at ``step``, on a fixed probe batch.

    ``activations`` maps node id to its values for the probe batch (images NHWC),
    ``params`` node id to ``{"kernel": ..., "bias": ...}`` in Flax layouts, and
    ``grad_norms`` node id to the L2 norm of the last training step's gradient.
    """

    step: int
    epoch: int
    probe_x: np.ndarray
    probe_y: np.ndarray
    activations: dict[str, np.ndarray]
    params: dict[str, dict[str, np.ndarray]]
    grad_norms: dict[str, float]
    probabilities: np.ndarray
    loss: float
    learning_rate: float
    plane: PlaneProbe | None = None


@dataclass(frozen=True)
class PlaneProbe:
    """For 2D datasets: the network evaluated on a grid over the input plane.

    ``xs`` and ``ys`` are the grid's coordinates (G each); ``probabilities`` is
    (G, G, n_classes) with rows along y; ``nodes`` maps each hidden node to its
    output over the grid, (G, G, units), as in TensorFlow Playground's neuron thumbnails.
    """

    xs: np.ndarray
    ys: np.ndarray
    probabilities: np.ndarray
    nodes: dict[str, np.ndarray]


@dataclass(frozen=True)
class Finished:
    """Training ended: ``reason`` is "completed" or "stopped"; ``metrics`` holds the final numbers."""

    reason: str
    step: int
    epoch: int
    seconds: float
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Failed:
    """Training could not go on; ``reason`` is written for the user, the last good weights are kept."""

    reason: str
    step: int = 0


def drain(messages: collections.deque) -> list:
    """Take every message queued in ``messages`` (filled by another thread), oldest first."""
    out = []
    while True:
        try:
            out.append(messages.popleft())
        except IndexError:
            return out
