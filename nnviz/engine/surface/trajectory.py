"""The path training took through weight space: flat parameter vectors θ_t, recorded from Snapshots."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..messages import Snapshot


@dataclass(frozen=True, eq=False)
class Trajectory:
    """Flat parameter vectors θ_t recorded while training, oldest first."""

    steps: np.ndarray  # (T,)
    thetas: np.ndarray  # (T, P) float32

    def __len__(self) -> int:
        return len(self.steps)


class TrajectoryRecorder:
    """Collects θ_t from a session's Snapshots: pass it as ``TrainingSession(on_message=...)``.

    Snapshots already carry every parameter as numpy, so recording costs the session
    nothing. To bound memory, when ``max_points`` are held every other point is dropped
    (the first is always kept) and only every second snapshot after that is kept.
    """

    def __init__(self, max_points: int = 300, forward: Callable[[Any], None] | None = None) -> None:
        self.max_points = max(4, int(max_points))
        self.forward = forward
        self._steps: list[int] = []
        self._thetas: list[np.ndarray] = []
        self._stride = 1
        self._seen = 0
        self._pending: tuple[int, dict] | None = None

    def __call__(self, msg: Any) -> None:
        if isinstance(msg, Snapshot):
            self.add(msg.step, msg.params)
        if self.forward is not None:
            self.forward(msg)

    def add(self, step: int, layers: dict[str, dict[str, np.ndarray]]) -> None:
        """Record the weights ``{node_id: {"kernel", "bias"}}`` after ``step`` steps."""
        if self._steps and step == self._steps[-1]:  # an epoch-end snapshot repeats the last one
            self._thetas[-1] = flatten_layers(layers)
            return
        self._seen += 1
        if self._steps and (self._seen - 1) % self._stride:
            self._pending = (step, layers)  # not kept, unless it turns out to be the last
            return
        self._pending = None
        self._steps.append(int(step))
        self._thetas.append(flatten_layers(layers))
        if len(self._steps) >= self.max_points:
            self._steps = self._steps[:1] + self._steps[2::2]
            self._thetas = self._thetas[:1] + self._thetas[2::2]
            self._stride *= 2

    def trajectory(self) -> Trajectory:
        steps, thetas = list(self._steps), list(self._thetas)
        pending = self._pending
        if pending is not None and pending[0] > (steps[-1] if steps else -1):
            steps.append(int(pending[0]))
            thetas.append(flatten_layers(pending[1]))
        if not steps:
            return Trajectory(np.zeros(0, np.int64), np.zeros((0, 0), np.float32))
        return Trajectory(np.asarray(steps, np.int64), np.stack(thetas).astype(np.float32))


def flatten_layers(layers: dict[str, dict[str, np.ndarray]]) -> np.ndarray:
    """The flat θ of ``{node_id: {"kernel", "bias"}}``, in ``ravel_pytree``'s order (sorted keys)."""
    parts = [
        np.asarray(layers[nid][k], np.float32).ravel() for nid in sorted(layers) for k in sorted(layers[nid])
    ]
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)
