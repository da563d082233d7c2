"""A bounded history of training snapshots, so a user can scrub back through a run.

Plain Python and numpy (no JAX, no Qt). Snapshots arrive about 30 times a second; the
history keeps them all until it reaches its budget (a count and a number of bytes), then
drops every other one of the older part. The run stays covered from its first step to
its newest at a resolution that halves as it grows, and memory stays flat however long
the run is.
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np

DEFAULT_MAX_ITEMS = 400
DEFAULT_MAX_BYTES = 96 * 2**20  # ~180 snapshots of a 784-128-10 MLP, ~30 of a small CNN


def snapshot_bytes(snapshot: Any, seen: set[int] | None = None) -> int:
    """The bytes of the numpy arrays a snapshot holds (arrays shared with earlier ones counted once)."""
    seen = set() if seen is None else seen
    total = 0

    def add(value: Any) -> None:
        nonlocal total
        if isinstance(value, np.ndarray):
            if id(value) not in seen:
                seen.add(id(value))
                total += value.nbytes
        elif isinstance(value, dict):
            for v in value.values():
                add(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                add(v)
        elif hasattr(value, "__dataclass_fields__"):
            for name in value.__dataclass_fields__:
                add(getattr(value, name))

    add(snapshot)
    return total


class SnapshotHistory:
    """Snapshots of one run in step order, thinned to stay within ``max_items`` and ``max_bytes``.

    Older snapshots are kept on a stride (every k-th to arrive), and the stride doubles
    whenever the budget is reached, so the older part of the run stays evenly covered.
    The first snapshot and the ``keep_recent`` newest are always kept (fewer when that
    many would fill more than half of ``max_bytes``), so the last moments before a pause
    can be stepped through one by one while the older half still covers the whole run.
    """

    def __init__(
        self, max_items: int = DEFAULT_MAX_ITEMS, max_bytes: int = DEFAULT_MAX_BYTES, keep_recent: int = 32
    ) -> None:
        if max_items < 4:
            raise ValueError("a history needs room for at least 4 snapshots")
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.keep_recent = min(keep_recent, max_items // 2)
        self._items: list[Any] = []
        self._steps: list[int] = []
        self._sizes: list[int] = []
        self._arrivals: list[int] = []  # how many snapshots had arrived before each one
        self._shared: set[int] = set()  # ids of arrays every snapshot shares (the probe batch)
        self._count = 0
        self.stride = 1
        self.nbytes = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> Any:
        return self._items[index]

    def __iter__(self):
        return iter(list(self._items))

    @property
    def steps(self) -> list[int]:
        return list(self._steps)

    @property
    def newest(self) -> Any:
        return self._items[-1] if self._items else None

    def clear(self) -> None:
        for a in (self._items, self._steps, self._sizes, self._arrivals):
            a.clear()
        self._shared.clear()
        self._count = 0
        self.stride = 1
        self.nbytes = 0
        self.dropped = 0

    def append(self, snapshot: Any) -> None:
        """Add the newest snapshot (a snapshot of the same step replaces the one before)."""
        step = int(getattr(snapshot, "step", self._count))
        if not self._items:
            # the probe inputs are the same arrays in every snapshot of a run: count them once
            for name in ("probe_x", "probe_y"):
                value = getattr(snapshot, name, None)
                if isinstance(value, np.ndarray) and id(value) not in self._shared:
                    self._shared.add(id(value))
                    self.nbytes += value.nbytes
        size = snapshot_bytes(snapshot, set(self._shared))
        if self._steps and step == self._steps[-1]:
            self.nbytes += size - self._sizes[-1]
            self._items[-1], self._sizes[-1] = snapshot, size
            return
        self._items.append(snapshot)
        self._steps.append(step)
        self._sizes.append(size)
        self._arrivals.append(self._count)
        self._count += 1
        self.nbytes += size
        recent = self._recent(size)
        aged = len(self._items) - 1 - recent  # the one that just left the recent part
        if aged > 0 and self._arrivals[aged] % self.stride:
            self._drop([aged])
        while len(self._items) > self.max_items or (self.nbytes > self.max_bytes and len(self._items) > 2):
            end = len(self._items) - recent
            if end > 1:  # thin the older part: every other one of those on the stride
                self.stride *= 2
                self._drop([i for i in range(1, end) if self._arrivals[i] % self.stride])
            else:  # only the first and the recent ones are left: let the oldest recent one go
                self._drop([1])

    def _recent(self, size: int) -> int:
        """How many of the newest snapshots stay unthinned: ``keep_recent``, or fewer when
        snapshots are so large (a CNN's feature maps) that they would take more than half
        the byte budget, which belongs to the older part of the run."""
        fits = int(self.max_bytes // 2 // max(size, 1))
        return max(1, min(self.keep_recent, fits))

    def _drop(self, indices: list[int]) -> None:
        for i in reversed(indices):
            self.nbytes -= self._sizes[i]
            del self._items[i], self._steps[i], self._sizes[i], self._arrivals[i]
        self.dropped += len(indices)

    def index_at_step(self, step: int) -> int:
        """The index of the newest snapshot taken at or before ``step`` (0 if none)."""
        if not self._steps:
            raise IndexError("the history is empty")
        return max(0, bisect.bisect_right(self._steps, step) - 1)
