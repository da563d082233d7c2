"""Live visualisation panels: each shows the newest training snapshot (and metrics) in its own way.

Every panel is a :class:`Panel`: ``set_context(network, analysis, DatasetInfo)`` once per
network and dataset, then ``show_snapshot(snapshot)`` as often as the GUI timer fires,
``add_metrics(progress_or_epoch_end)`` for the metric panels, ``selected_sample`` (and the
``sample_selected`` signal) for the probe sample shown, and ``export(path)`` for PNG/SVG.
Each panel class declares a :class:`PanelDescription`; :data:`PANELS` lists them all.

Where things live: one module per panel (``curves``, ``decision``, ``network``, ...);
``panel`` (the base class), ``description`` and ``registry`` (what each panel is and
the list of them), ``dataset_info`` (what panels know of the data); ``drawing/`` what
they draw with (colours, themes, scales, mosaics, plot styling).
"""

from .activations import ActivationsPanel
from .conv import ConvPanel
from .curves import CurvesPanel
from .dataset_info import DatasetInfo
from .decision import DecisionBoundaryPanel
from .description import PanelDescription
from .drawing.mosaic import Mosaic
from .drawing.scales import SymmetricLevels
from .gradients import GradientsPanel
from .network import NetworkPanel
from .panel import Panel, link_samples
from .prediction import PredictionPanel
from .registry import PANELS, applicable, panel_class
from .surface import SurfacePanel
from .weights import WeightsPanel

__all__ = [
    "ActivationsPanel",
    "ConvPanel",
    "CurvesPanel",
    "DatasetInfo",
    "DecisionBoundaryPanel",
    "GradientsPanel",
    "Mosaic",
    "NetworkPanel",
    "PANELS",
    "Panel",
    "PanelDescription",
    "PredictionPanel",
    "SurfacePanel",
    "SymmetricLevels",
    "WeightsPanel",
    "applicable",
    "link_samples",
    "panel_class",
]
