"""What goes wrong while computing a loss surface."""

from __future__ import annotations


class SurfaceError(Exception):
    """The surface cannot be computed for this network or input; the message says why."""


class SurfaceCancelled(SurfaceError):
    """``cancel()`` answered true while a grid was being evaluated."""
