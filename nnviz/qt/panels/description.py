"""What the window knows about a kind of panel before it makes one: a panel class's description.

Every panel class declares one as its ``description`` class attribute, and the window
(``nnviz.qt.visuals``) and the screenshot script (``packaging/render_panels.py``) read
it from the registry (``nnviz.qt.panels.registry.PANELS``): which dock to make, its
title and tooltip, when the panel applies to a network, how often it may redraw while
training, and whether it draws a history rather than the newest snapshot alone.

"When it applies" asks the layer types' traits (``node.layer.spatial``) and the
dataset's shape, never a layer type's name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...core.graph import Network
    from .dataset_info import DatasetInfo

# Heavy panels (large images, many items) redraw at most this often while training.
HEAVY_INTERVAL = 0.1  # seconds


def always(network: Network, info: DatasetInfo | None) -> bool:
    """Every network has something to show here."""
    return True


def has_spatial_layers(network: Network, info: DatasetInfo | None) -> bool:
    """Some layer slides over an image and gives feature maps (a convolution, a pooling)."""
    return any(node.layer.spatial for node in network.nodes.values())


def has_2d_input(network: Network, info: DatasetInfo | None) -> bool:
    """The samples are points in a plane, so the whole input space can be drawn."""
    return info is not None and info.is_2d


@dataclass(frozen=True)
class PanelDescription:
    """A panel class's entry in the registry.

    ``key`` names the panel in the window (``visuals.panels[key]``, the objects
    ``{key}Panel`` and ``{Key}PanelDock``); ``title`` is its dock's title and
    ``tooltip`` its View menu entry's tip. ``applies(network, dataset_info)``: whether
    it has anything to show (its dock is hidden and disabled when not).
    ``min_interval``: seconds between two redraws while training (0: every snapshot).
    ``accumulates``: it draws the run's history (metrics or snapshots over time), so it
    is given the snapshots it missed while hidden, and keeps what it has when the run's
    dataset turns out to differ from the document's guess. ``leads``: when the panels
    that apply change, the applicable one with the highest ``leads`` (above 0) is
    brought to the front of its tab group.
    """

    key: str
    title: str
    tooltip: str
    applies: Callable[[Network, DatasetInfo | None], bool] = always
    min_interval: float = HEAVY_INTERVAL
    accumulates: bool = False
    leads: int = 0
