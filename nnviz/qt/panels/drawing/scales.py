"""Scales that move calmly: colour levels that follow the data without flicker, axis ranges that
move only when the data leaves them."""

from __future__ import annotations

import math

import numpy as np


class SymmetricLevels:
    """Colour levels (-L, L) that follow the data's largest magnitude, slowly, so colours do not flicker.

    They grow at once when values would saturate badly and shrink gently otherwise.
    """

    def __init__(self, shrink: float = 0.05, grow: float = 0.5, quantile: float | None = None) -> None:
        self.level: float | None = None
        self.shrink, self.grow = shrink, grow
        # Feature maps: a few hot pixels would wash the rest out, so follow a high quantile.
        self.quantile = quantile

    def reset(self) -> None:
        self.level = None

    def update(self, values: np.ndarray) -> tuple[float, float]:
        finite = values[np.isfinite(values)] if values.size else values
        if not finite.size:
            target = 1.0
        elif self.quantile is None:
            target = float(np.max(np.abs(finite)))
        else:
            target = float(np.quantile(np.abs(finite), self.quantile))
        target = max(target, 1e-6)
        if self.level is None:
            self.level = target
        elif target > self.level:
            self.level += self.grow * (target - self.level)
        else:
            self.level += self.shrink * (target - self.level)
        return -self.level, self.level


class SteadyRange:
    """Keeps one axis of a plot around its data, moving it only when the data leaves the
    range or fills too little of it.

    pyqtgraph's auto-range moves the view with every new point: the axes regenerate
    their ticks, the layout may change, and the whole plot repaints every frame. Here the
    range moves a few times per run. Once the user pans or zooms, the range is theirs
    until they press the plot's "A" button.
    """

    def __init__(
        self,
        plot,
        axis: str,
        pad: float = 0.05,
        shrink: float = 0.5,
        grow: float = 0.0,
        floor: float | None = None,
        min_pad: float = 0.0,
    ) -> None:
        """``pad``: margin on both sides and ``grow``: extra room above, as shares of the data's
        span, and at least ``min_pad`` (view units: decades on a log axis); the range is
        refitted when the data fills less than ``shrink`` of it; ``floor``: never below this
        when the data is not (0 for a loss)."""
        self.vb = plot.getViewBox() if hasattr(plot, "getViewBox") else plot
        self.axis = axis
        self.pad, self.shrink, self.grow, self.floor, self.min_pad = pad, shrink, grow, floor, min_pad
        self.range: tuple[float, float] | None = None
        self.following = True
        self.vb.disableAutoRange(axis="x" if axis == "x" else "y")
        self.vb.sigRangeChangedManually.connect(self._on_view_changed_manually)
        button = getattr(plot, "autoBtn", None)
        if button is not None:  # after the plot's own handler (which turns auto-range on)
            button.clicked.connect(self._on_auto_button_clicked)
        self._last: tuple[float, float] | None = None

    def reset(self) -> None:
        """Forget the range (a new run): the next fit sets it afresh."""
        self.range = self._last = None
        self.following = True

    def fit(self, lo: float, hi: float, force: bool = False) -> bool:
        """Show [lo, hi] (view coordinates); returns whether the view moved."""
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return False
        self._last = (lo, hi)
        if not self.following:
            return False
        if hi - lo < 1e-12:
            lo, hi = lo - 0.5, hi + 0.5
        old = self.range
        if not force and old is not None:
            span = old[1] - old[0]
            if old[0] <= lo and hi <= old[1] and (hi - lo) + 2 * self.min_pad >= self.shrink * span:
                return False
        span = hi - lo
        pad = max(self.pad * span, self.min_pad)
        new = (lo - pad, hi + pad + self.grow * span)
        if self.floor is not None and lo >= self.floor:
            new = (max(new[0], self.floor), new[1])
        self.range = new
        if self.axis == "x":
            self.vb.setXRange(*new, padding=0)
        else:
            self.vb.setYRange(*new, padding=0)
        return True

    def _on_view_changed_manually(self, *_) -> None:
        self.following = False

    def _on_auto_button_clicked(self, *_) -> None:
        self.following = True
        self.vb.disableAutoRange(axis="x" if self.axis == "x" else "y")
        if self._last is not None:
            self.fit(*self._last, force=True)
