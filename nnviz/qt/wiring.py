"""Moving a widget's signal connections from one document to the next."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Connection = tuple[Any, Callable]  # (bound signal, slot)


def rewire(old: Iterable[Connection], new: Iterable[Connection]) -> None:
    """Disconnect ``old`` (quietly, if Qt already dropped them) and connect ``new``."""
    for signal, slot in old:
        try:
            signal.disconnect(slot)
        except (RuntimeError, TypeError):  # already gone with its sender
            pass
    for signal, slot in new:
        signal.connect(slot)
