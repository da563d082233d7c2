"""What a watcher may tell a training session, wherever it trains (a thread, or the engine process).

One enum, ``SessionCommand``, names every command; the session's queue, the engine
process's pipe and the window's bridge all carry its members, which pickle as their
names' values. ``SessionCommand.checked(value)`` turns what a caller gave into the
value the run reads, or raises ValueError with a message written for the user.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any


class SessionCommand(enum.Enum):
    PAUSE = "pause"  # stop between chunks and wait, answering commands
    RESUME = "resume"  # train on at full speed (or the slow-motion speed)
    STEP = "step"  # while paused: train exactly ``value`` mini-batches, then report
    STOP = "stop"  # end the run; it finishes as stopped, with the last good weights
    LEARNING_RATE = "learning_rate"  # the learning rate from now on (no recompilation)
    SPEED = "speed"  # steps per slow-motion frame; None: full speed

    def checked(self, value: Any = None) -> Any:
        """``value`` as the run reads it; ValueError unless it suits this command."""
        if self is SessionCommand.STEP:
            return int(1 if value is None else value)
        if self is SessionCommand.LEARNING_RATE:
            return check_learning_rate(value)
        if self is SessionCommand.SPEED:
            return check_speed(value)
        return None


@dataclass(frozen=True)
class Command:
    """One command as the session's queue holds it."""

    kind: SessionCommand
    value: Any = None


def check_learning_rate(lr: float) -> float:
    """``lr`` as a float; ValueError, written for the user, unless 0 < lr <= 100."""
    lr = float(lr)
    if not (math.isfinite(lr) and 0 < lr <= 100):
        raise ValueError(f"the learning rate must be above 0 and at most 100 (got {lr:g})")
    return lr


def check_speed(steps_per_frame: int | None) -> int | None:
    """Steps per frame as an int, or None (full speed); ValueError unless a whole number >= 1."""
    if steps_per_frame is None:
        return None
    if isinstance(steps_per_frame, bool) or int(steps_per_frame) != steps_per_frame or steps_per_frame < 1:
        raise ValueError(f"steps per frame must be a whole number of at least 1 (got {steps_per_frame!r})")
    return int(steps_per_frame)
