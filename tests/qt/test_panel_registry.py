"""The panel registry: every panel class described once, and the window and the screenshot script read it."""

from __future__ import annotations

import importlib.util
import pkgutil
import sys
from pathlib import Path

import pytest

from nnviz.core.presets import load_preset
from nnviz.qt.document import ProjectDocument

from .helpers import shown_window

ROOT = Path(__file__).resolve().parents[2]


def panel_classes() -> set[type]:
    """Every Panel subclass the nnviz.qt.panels package defines (its modules all imported)."""
    import nnviz.qt.panels as P

    for module in pkgutil.iter_modules(P.__path__):
        importlib.import_module(f"{P.__name__}.{module.name}")
    found, todo = set(), [P.Panel]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith(P.__name__ + ".") and sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def test_every_panel_class_is_registered_once_with_its_own_description():
    from nnviz.qt.panels import PANELS, PanelDescription, panel_class

    assert panel_classes() == set(PANELS)
    assert len(PANELS) == len(set(PANELS))
    keys = [cls.description.key for cls in PANELS]
    assert len(keys) == len(set(keys)), keys
    for cls in PANELS:
        d = cls.__dict__.get("description")
        assert isinstance(d, PanelDescription), f"{cls.__name__} declares no description of its own"
        assert d.key.isidentifier() and d.title and d.tooltip, d
        assert d.min_interval >= 0
        assert panel_class(d.key) is cls
    with pytest.raises(KeyError):
        panel_class("no-such-panel")


def applicable_keys(project) -> set[str]:
    from nnviz.qt.panels import applicable
    from nnviz.qt.visuals import dataset_info_for

    doc = ProjectDocument(project)
    return {cls.description.key for cls in applicable(doc.network, dataset_info_for(doc))}


def test_conv_panels_apply_by_layer_traits_and_the_decision_boundary_by_the_data(qapp):
    from nnviz.qt.panels import PANELS

    every = {cls.description.key for cls in PANELS}
    assert applicable_keys(load_preset("xor-one-hidden")) == every - {"conv"}  # an MLP on 2D points
    assert applicable_keys(load_preset("mnist-cnn")) == every - {"decision"}  # a CNN on images
    assert applicable_keys(load_preset("mnist-mlp-256")) == every - {"conv", "decision"}


@pytest.mark.parametrize(
    ("preset", "front"), [("xor-one-hidden", "decision"), ("mnist-cnn", "conv"), ("mnist-mlp-256", "network")]
)
def test_the_window_shows_exactly_the_panels_that_apply(qtbot, make_window, preset, front):
    from nnviz.qt.panels import PANELS

    project = load_preset(preset)
    w = shown_window(make_window, qtbot, project)
    v = w.visuals
    want = applicable_keys(project)
    assert list(v.docks) == [cls.description.key for cls in PANELS]  # one dock per registered panel, in order
    assert {k for k, ok in v.applicable.items() if ok} == want
    for cls in PANELS:
        d = cls.description
        dock = v.docks[d.key]
        assert dock.isHidden() == (d.key not in want), d.key
        assert dock.toggleViewAction().isEnabled() == (d.key in want), d.key
        assert dock.windowTitle() == d.title and dock.toggleViewAction().toolTip() == d.tooltip
        assert v.intervals[d.key] == d.min_interval
    qtbot.waitUntil(lambda: v.panels[front].isVisible(), timeout=2000)  # the telling panel leads
    assert front in v.visible_keys()


def test_render_panels_covers_every_registered_panel(qapp, monkeypatch):
    from nnviz.qt.panels import PANELS
    from nnviz.qt.visuals import dataset_info_for

    spec = importlib.util.spec_from_file_location("render_panels", ROOT / "packaging" / "render_panels.py")
    render_panels = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "render_panels", render_panels)  # dataclasses look their module up
    spec.loader.exec_module(render_panels)
    rendered = set()
    for shot in render_panels.SHOTS:
        doc = ProjectDocument(load_preset(shot.preset))
        classes = render_panels.panels_for(doc.network, dataset_info_for(doc), shot.keys)
        names = {cls.description.key for cls in classes}
        assert shot.keys is None or names == set(shot.keys), (shot.name, names)  # what it names applies
        rendered |= set(classes)
    assert rendered == set(PANELS)
