"""How many steps one call of the compiled training loop takes: the chunk sizer.

Pure Python, no JAX: it only reads a clock (``time.perf_counter`` unless one is given),
so its rule can be tested with a fake clock.

A chunk starts at one step and follows the time its calls take, so that a call takes
about ``chunk_seconds``: long enough to hide Python's overhead, short enough that pause,
stop and the live learning rate answer quickly. It grows at most twofold a call, as a
short call's time is mostly overhead, and shrinks at once after a long one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class ChunkSizer:
    """Times the training calls and picks the length of the next one (``chunk``)."""

    def __init__(
        self, chunk_seconds: float, max_chunk: int, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.chunk_seconds = chunk_seconds
        self.max_chunk = max(1, int(max_chunk))
        self.clock = clock
        self.chunk = 1  # steps per call at full speed
        self.calls = 0  # calls timed so far
        self._free_at = 0.0  # when the device last finished other work (a snapshot's probes)

    def started(self) -> float:
        """A call is dispatched now: the time it is timed from."""
        return self.clock()

    def device_freed(self) -> None:
        """Other work queued on the device (a snapshot's probes) has just come back.

        A call started before now queued behind it and could not start earlier, so it is
        timed from now.
        """
        self._free_at = self.clock()

    def finished(self, n: int, started: float, waited: bool, resize: bool = True) -> float:
        """A call of ``n`` steps, dispatched at ``started``, has been collected: its seconds.

        ``waited`` tells whether it was still running when it was looked for. One that was
        done already was timed with whatever Python did meanwhile (a report), not its own
        work: the device waited for Python, so a longer chunk costs nothing and it may
        grow. The first call (it compiles), calls of another length than ``chunk`` (an
        epoch's tail, a slow-motion frame) and calls with ``resize=False`` (single steps
        while paused) leave the chunk as it is.
        """
        seconds = self.clock() - max(started, self._free_at)
        self.calls += 1
        if resize and n == self.chunk and self.calls > 1:
            ideal = self.chunk_seconds * n / max(seconds, 1e-6) if waited else math.inf
            self.chunk = int(min(max(ideal, 1), min(2 * n, self.max_chunk)))
        return seconds
