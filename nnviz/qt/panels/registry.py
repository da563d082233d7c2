"""The panel registry: every visualisation panel class, in the order the window shows them.

The first stands beside the others (the curves, always in view); the others share one
tab group, the most telling first. Each class's ``description`` (see
:mod:`.description`) says the rest. A new panel is a class with a description, added
here.
"""

from __future__ import annotations

from .activations import ActivationsPanel
from .conv import ConvPanel
from .curves import CurvesPanel
from .decision import DecisionBoundaryPanel
from .gradients import GradientsPanel
from .network import NetworkPanel
from .panel import Panel
from .prediction import PredictionPanel
from .surface import SurfacePanel
from .weights import WeightsPanel

PANELS: tuple[type[Panel], ...] = (
    CurvesPanel,
    DecisionBoundaryPanel,
    NetworkPanel,
    PredictionPanel,
    ConvPanel,
    WeightsPanel,
    ActivationsPanel,
    GradientsPanel,
    SurfacePanel,
)


def panel_class(key: str) -> type[Panel]:
    """The registered panel class whose description has ``key``."""
    for cls in PANELS:
        if cls.description.key == key:
            return cls
    raise KeyError(key)


def applicable(network, info) -> list[type[Panel]]:
    """The registered panel classes that have something to show for ``network`` and ``info``."""
    return [cls for cls in PANELS if cls.description.applies(network, info)]
