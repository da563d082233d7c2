"""When a run has diverged, and what the message says: one rule for every trainer.

A run diverges when its loss is no longer finite, or when it has grown beyond
``GROWTH_FACTOR`` times the loss it started from. Growth is judged on the smallest loss
of the last ``WINDOW`` steps, so one noisy batch never stops a run: the loss must stay
that high for ``WINDOW`` steps in a row. (At learning rate 100 the spiral's loss climbs
to 1e29 without ever becoming NaN; without this rule such runs "completed".)

Plain numpy: the training run feeds it each chunk's per-step losses.
"""

from __future__ import annotations

import math

import numpy as np

GROWTH_FACTOR = 1e4  # a loss this many times its start means training diverged
WINDOW = 10  # steps in a row the loss must stay above that
START_FLOOR = 1e-3  # a start loss near 0 (already fitted) does not make any loss "growth"


class DivergenceWatch:
    """Follows one run's losses and says at which step they diverged, if they did."""

    def __init__(self, initial=None, factor: float | None = None, window: int | None = None) -> None:
        """``initial``: what to keep if the very first loss diverges (the run's starting state)."""
        # Read at construction, not definition, so a test can lower the module's constants.
        self.factor = GROWTH_FACTOR if factor is None else factor
        self.window = WINDOW if window is None else window
        self.start: float | None = None  # the loss of the run's first step
        self._tail = np.zeros(0)  # the last window - 1 losses seen
        self._finite = initial  # the newest state whose loss was finite
        self._bounded = initial  # ... and below the limit
        self.good = initial  # which of the two to keep, once the run has diverged

    @property
    def limit(self) -> float:
        return self.factor * max(self.start or 0.0, START_FLOOR)

    def observe(self, losses: np.ndarray, state=None) -> int | None:
        """The index into ``losses`` of the first step whose loss is not finite or has grown too far.

        ``losses`` are a chunk's per-step losses, the first being that of ``state``, the
        chunk's starting state (whatever the caller keeps: weights, optimizer state,
        step); once the run diverges, :attr:`good` holds the newest state to keep: whose
        loss was finite (after a NaN or inf) or also below the limit (after growth). For growth, the index is
        the first step of the ``window`` steps in a row above the limit that lies in this
        chunk (0 when that run of high losses began in an earlier chunk). None while the
        run is fine.
        """
        losses = np.asarray(losses, np.float64)
        if losses.size == 0:
            return None
        if self.start is None and np.isfinite(losses[0]):
            self.start = float(losses[0])
        if np.isfinite(losses[0]):
            self._finite = state
            if losses[0] <= self.limit:
                self._bounded = state
        finite = np.isfinite(losses)
        if not finite.all():
            self.good = self._finite  # NaN or inf: the newest weights whose loss was finite
            return int(np.argmin(finite))
        seq = np.concatenate([self._tail, losses])
        self._tail = seq[-(self.window - 1) :] if self.window > 1 else np.zeros(0)
        if len(seq) < self.window:
            return None
        high = np.lib.stride_tricks.sliding_window_view(seq, self.window).min(axis=1) > self.limit
        if not high.any():
            return None
        first = int(np.argmax(high))  # window start, in seq
        self.good = self._bounded  # grown: the newest weights whose loss had not
        return max(0, first - (len(seq) - len(losses)))


def divergence_message(
    losses: np.ndarray, bad: int, step: int, start_loss: float | None, learning_rate: float, kept_step: int
) -> str:
    """What happened (NaN, inf or growth, at which step), why it probably did, and what to try."""
    value = float(losses[bad])
    if math.isnan(value):
        what = f"The loss became NaN at step {step}"
    elif math.isinf(value):
        what = f"The loss became infinite at step {step}"
    else:
        peak = float(np.max(losses))
        what = (
            f"The loss grew from {start_loss:.3g} to {peak:.3g} by step {step}, more than "
            f"{GROWTH_FACTOR:,.0f} times where it started (it kept above that for {WINDOW} steps)"
        )
    return (
        f"{what}: training diverged, probably because the learning rate ({learning_rate:g}) is "
        f"too high. Training stopped; the weights from step {kept_step} are kept. Try a lower "
        f"learning rate, e.g. {learning_rate / 10:g}, or Reset and train again."
    )
