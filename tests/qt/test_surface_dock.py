"""The loss-surface dock in the window: computed off the GUI thread, the ball follows training and the timeline."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from nnviz.core.presets import load_preset

from .helpers import front, shown_window


def surface_window(make_window, qtbot, project):
    w = shown_window(make_window, qtbot, project)
    front(w, "surface")
    assert "surface" in w.visuals.visible_keys()
    return w, w.visuals.surface, w.visuals.panels["surface"]


def test_descent_plane_after_a_run_then_the_line_and_the_scrubbed_ball(qtbot, make_window):
    w, ctl, panel = surface_window(make_window, qtbot, load_preset("xor-one-hidden").with_training(epochs=3))
    qtbot.mouseClick(ctl.compute_button, Qt.MouseButton.LeftButton)  # nothing trained yet
    assert "Train" in ctl.message.text() and ctl.surface is None
    w.set_speed(10)
    w.train()
    qtbot.waitUntil(lambda: w.bridge.active, timeout=2000)
    qtbot.waitUntil(lambda: not w.bridge.active, timeout=60000)
    # the run ended with the surface in view: the descent plane is computed by itself
    qtbot.waitUntil(lambda: ctl.surface is not None, timeout=60000)
    s = ctl.surface
    assert panel.surface is s and s.method == "pca" and s.loss.shape == (31, 31)
    h = w.visuals.history
    # the path is the run's own record of every snapshot it made: at least what the
    # timeline holds, from the first weights to the last
    path = s.paths[0]
    assert len(path.steps) >= len(h) and path.steps[0] == 0 and path.steps[-1] == h.newest.step
    assert list(path.steps) == sorted(set(path.steps))
    assert "weights" in ctl.message.text() and ctl.progress.isHidden()
    assert np.isfinite(s.loss).all()
    # the straight line from the start, picked in the box and computed with the button
    ctl.method_box.setFocus()
    ctl.method_box.setCurrentIndex(ctl.method_box.findData("line"))
    ctl.grid_box.setValue(21)
    qtbot.mouseClick(ctl.compute_button, Qt.MouseButton.LeftButton)
    (
        qtbot.waitUntil(lambda: ctl.surface is not s and ctl.surface is not None, timeout=20000),
        ctl.message.text(),
    )
    line = ctl.surface
    assert line.is_line and panel.surface is line and len(line.a) >= 21
    # scrub the timeline back: the ball goes to that snapshot's weights, placed on the line
    # where the path has them (the timeline may have missed step 0; the path has every step)
    w.visuals.scrub_to(0)
    live = panel._live
    assert live is not None and live[3] == h[0].step
    at = list(line.paths[0].steps).index(h[0].step)
    assert line.paths[0].steps[0] == 0 and line.paths[0].xy[0, 0] == pytest.approx(
        0.0, abs=1e-5
    )  # θ_0 starts it
    assert live[0][0] == pytest.approx(line.paths[0].xy[at, 0], abs=1e-5)
    qtbot.waitUntil(lambda: panel._live[1] == pytest.approx(line.paths[0].loss[at], rel=1e-4), timeout=10000)


def test_the_line_follows_training_live_and_cancel_stops_a_grid(qtbot, make_window):
    w, ctl, panel = surface_window(
        make_window, qtbot, load_preset("xor-one-hidden").with_training(epochs=100000)
    )
    ctl.set_method("line")
    w.train()
    shown = []
    ctl.computed.connect(shown.append)
    qtbot.waitUntil(lambda: len(shown) >= 2, timeout=60000)  # recomputed while it trains
    assert all(s.is_line for s in shown) and w.bridge.active
    assert shown[-1].paths[0].steps[-1] > shown[0].paths[0].steps[-1]  # the line's end moved with θ_t
    assert panel._live is not None  # and the ball rides along
    w.stop()
    qtbot.waitUntil(lambda: not w.bridge.active, timeout=5000)
    # a big grid can be cancelled
    ctl.set_method("random")
    ctl.grid_box.setValue(101)
    assert ctl.compute()
    assert ctl.cancel_button.isVisible()
    qtbot.mouseClick(ctl.cancel_button, Qt.MouseButton.LeftButton)
    assert not ctl.busy and ctl.progress.isHidden() and ctl.message.text() == "Cancelled."
