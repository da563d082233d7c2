"""A typed setting with its allowed range: the rule that validation and the settings boxes share."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


def value_text(value: Any, limit: int = 60) -> str:
    """``repr(value)`` for a message, cut in the middle when long: a 309-digit number stays readable."""
    text = repr(value)
    if len(text) <= limit:
        return text
    what = f"{len(str(value)):,} digits" if isinstance(value, int) else f"{len(text):,} characters"
    half = (limit - 3) // 2
    return f"{text[:half]}…{text[-half:]} ({what})"


@dataclass(frozen=True)
class Setting:
    """One setting of a project: what values it may hold, how a box steps it, what it means.

    ``TrainingConfig.validate`` and ``DatasetSpec.validate`` check every field against
    its ``Setting``, and the settings panel builds its boxes from the same entries, so a
    value a project file can hold is a value the window can show and keep.
    """

    name: str  # the field (and the key in project files)
    title: str  # the label beside its box
    label: str  # how messages name it
    kind: type  # int, float or str
    help: str  # one line for tooltips
    minimum: float | None = None  # None: no lower bound
    maximum: float | None = None  # None: no upper bound
    above_minimum: bool = False  # the minimum itself is not allowed (a learning rate above 0)
    below_maximum: bool = False  # nor the maximum (momentum below 1)
    step: float = 1  # what one arrow press adds
    adaptive: bool = False  # the step follows the value's magnitude (0.001 steps by 0.0001)
    special: str = ""  # what the minimum means, shown in its place ("no limit")
    choices: tuple[str, ...] = ()  # for kind str: the allowed names

    def rule(self) -> str:
        """The allowed values in words: 'a whole number from 1 to 65536', 'above 0 and at most 100'."""
        if self.kind is str:
            return f"one of {', '.join(self.choices)}"
        lo, hi = self.minimum, self.maximum
        if self.kind is int:
            if lo is not None and hi is not None:
                text = f"a whole number from {_text(lo)} to {_text(hi)}"
            elif lo is not None:
                text = f"a whole number of at least {_text(lo)}"
            else:
                text = "a whole number"
            return text + (
                f", where {_text(lo)} means {self.special}" if self.special and lo is not None else ""
            )
        parts = []
        if lo is not None:
            parts.append(f"{'above' if self.above_minimum else 'at least'} {_text(lo)}")
        if hi is not None:
            parts.append(f"{'below' if self.below_maximum else 'at most'} {_text(hi)}")
        return " and ".join(parts) or "a number"

    def problem(self, value: Any) -> str | None:
        """Why ``value`` cannot be this setting, or None when it can."""
        if self.kind is str:
            ok = value in self.choices
        else:
            ok = is_whole(value) if self.kind is int else is_number(value)
            if ok and self.minimum is not None:
                ok = value > self.minimum if self.above_minimum else value >= self.minimum
            if ok and self.maximum is not None:
                ok = value < self.maximum if self.below_maximum else value <= self.maximum
        return None if ok else f"{self.label} must be {self.rule()} (got {value_text(value)})"


def is_number(v: Any) -> bool:
    """A finite int or float, and not a bool."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def is_whole(v: Any) -> bool:
    """An int, and not a bool."""
    return isinstance(v, int) and not isinstance(v, bool)


def _text(bound: float) -> str:
    """A bound as people write it: 4294967295, not 4.29497e+09; 0.5, not 0.50000."""
    return str(bound) if isinstance(bound, int) else f"{bound:g}"
