"""Control while it runs: the timeline scrubs every panel back through training, Step shows each
batch's result at once, a live learning-rate change takes effect, and the speed setting is live."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from nnviz.core.presets import load_preset
from nnviz.qt.document import ProjectDocument

from .helpers import endless_xor_window, front, shown_window


def kernel(snapshot, panel):
    return snapshot.params[panel.selected_layer]["kernel"]


def test_scrubbing_back_restores_an_older_state_in_every_panel(qtbot, make_window):
    w = shown_window(make_window, qtbot, load_preset("xor-one-hidden").with_training(epochs=2))
    v, bar = w.visuals, w.visuals.timeline
    assert not bar.isEnabled() and "press Train" in bar.label.text()
    # 50 steps, one a frame: many snapshots over 1.7 s, even if the GUI stalls for a while
    # (at 10 a frame the whole run took 0.27 s, and one stall left a history of 2)
    w.set_speed(1)
    w.train()
    qtbot.waitUntil(lambda: w.bridge.active, timeout=2000)
    qtbot.waitUntil(lambda: not w.bridge.active, timeout=60000)
    h = v.history
    assert len(h) >= 3 and h[0].step <= 10 and h.newest is v.latest and bar.live  # step 0's may be overtaken
    assert bar.slider.maximum() == len(h) - 1 and bar.slider.value() == len(h) - 1
    # Home on the slider: the very first snapshot, the weights (almost) before any training
    bar.slider.setFocus()
    qtbot.keyClick(bar.slider, Qt.Key.Key_Home)
    first = h[0]
    assert not v.live and v.current is first and not bar.live_button.isChecked()
    assert f"Step {first.step} " in bar.label.text() and f"1 of {len(h)}" in bar.label.text()
    decision = v.panels["decision"]
    assert decision.snapshot is first
    assert v.panels["curves"].marker_step == first.step  # the curves mark where the timeline is
    np.testing.assert_array_equal(decision.heat.image, first.plane.probabilities[..., 1])
    front(w, "weights")  # a panel brought to the front shows the scrubbed state too, not the newest
    weights = v.panels["weights"]
    qtbot.waitUntil(lambda: weights.snapshot is first, timeout=2000)
    np.testing.assert_array_equal(weights.image.image, kernel(first, weights))
    assert not np.array_equal(kernel(first, weights), kernel(v.latest, weights))  # it did learn
    # one snapshot later with the arrow button, then Alt+Left back
    qtbot.mouseClick(bar.forward_button, Qt.MouseButton.LeftButton)
    assert weights.snapshot is h[1] and bar.slider.value() == 1
    w.action_back.trigger()
    assert weights.snapshot is h[0]
    # Live brings every panel back to the newest snapshot
    qtbot.mouseClick(bar.live_button, Qt.MouseButton.LeftButton)
    assert v.live and weights.snapshot is v.latest and bar.slider.value() == len(h) - 1
    assert v.panels["curves"].marker_step is None
    np.testing.assert_array_equal(weights.image.image, kernel(v.latest, weights))
    front(w, "decision")
    qtbot.waitUntil(lambda: decision.snapshot is v.latest, timeout=2000)
    # a new run starts a new history
    w.reset()
    assert len(h) == 0 and not bar.isEnabled()


def test_scrubbed_panels_stay_put_while_training_goes_on(qtbot, make_window):
    w = endless_xor_window(make_window, qtbot)
    v, bar = w.visuals, w.visuals.timeline
    decision = v.panels["decision"]
    w.train()
    qtbot.waitUntil(lambda: len(v.history) >= 4, timeout=30000)
    bar.slider.setValue(1)  # as a drag would
    pinned = v.history[1]
    assert decision.snapshot is pinned
    seen = v.latest.step
    qtbot.waitUntil(lambda: v.latest.step > seen + 50, timeout=30000)
    assert decision.snapshot is pinned and v.current is pinned  # training went on, the picture did not
    assert v.history.index_at_step(pinned.step) == bar.slider.value()
    w.action_live.trigger()
    assert v.live
    qtbot.waitUntil(
        lambda: decision.snapshot is not pinned and decision.snapshot.step > seen + 50, timeout=5000
    )
    w.stop()
    qtbot.waitUntil(lambda: not w.bridge.active, timeout=5000)
    assert decision.snapshot is v.latest


def test_step_advances_one_batch_and_every_panel_shows_it(qtbot, make_window):
    w = shown_window(make_window, qtbot, load_preset("xor-one-hidden"))
    v = w.visuals
    front(w, "weights")
    weights = v.panels["weights"]
    for expected in (1, 2, 3):
        qtbot.keyClick(w, Qt.Key.Key_F10)  # Step
        qtbot.waitUntil(lambda e=expected: v.latest is not None and v.latest.step == e, timeout=30000)
        assert w.bridge.paused
        qtbot.waitUntil(lambda: weights.snapshot is v.latest, timeout=1000)  # at once, no throttling
        np.testing.assert_array_equal(weights.image.image, kernel(v.latest, weights))
        qtbot.waitUntil(
            lambda e=expected: (
                v.panels["curves"].series["step_loss"].n
                and v.panels["curves"].series["step_loss"].xs[-1] == e
            ),
            timeout=1000,
        )
    # stepped weights differ step by step (the step-0 snapshot may have been replaced by step 1's
    # before the bridge took it: the newest wins)
    h = v.history
    assert [s.step for s in h][-3:] == [1, 2, 3]
    assert not np.array_equal(kernel(h[-2], weights), kernel(h[-1], weights))


def test_learning_rate_typed_mid_run_takes_effect(qtbot, make_window):
    w = endless_xor_window(make_window, qtbot)
    v = w.visuals
    front(w, "weights")
    weights = v.panels["weights"]
    w.train()
    qtbot.waitUntil(lambda: v.latest is not None and v.latest.step >= 40, timeout=30000)
    assert v.latest.learning_rate == pytest.approx(0.03)

    def change_per_step(since):
        """Mean |dW| per step between the first snapshot at or after ``since`` and the newest one."""
        old = next(s for s in v.history if s.step >= since)
        new = v.latest
        return np.abs(kernel(new, weights) - kernel(old, weights)).mean() / max(1, new.step - old.step)

    start = v.latest.step
    qtbot.waitUntil(lambda: v.latest.step >= start + 100, timeout=30000)
    fast = change_per_step(start)
    box = w.settings_panel.learning_rate
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), "0.00001")
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    assert "live" in w.statusBar().currentMessage()
    qtbot.waitUntil(lambda: v.latest.learning_rate == pytest.approx(1e-5), timeout=10000)
    qtbot.waitUntil(lambda: w.bridge.last_progress.learning_rate == pytest.approx(1e-5), timeout=10000)
    qtbot.waitUntil(lambda: weights.snapshot.learning_rate == pytest.approx(1e-5), timeout=2000)
    start = v.latest.step
    qtbot.waitUntil(lambda: v.latest.step >= start + 100, timeout=30000)
    slow = change_per_step(start)
    assert slow < fast / 10  # Adam's steps scale with the learning rate (3000 times smaller here)
    w.stop()
    qtbot.waitUntil(lambda: not w.bridge.active, timeout=5000)


def test_speed_is_live_from_the_toolbar_and_remembered(qtbot, make_window, settings):
    w = endless_xor_window(make_window, qtbot)
    box = w.speed_box
    assert w.speed is None and box.currentText() == "Full speed"
    # slow motion, picked in the toolbar's box before training
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_End)  # the last entry: 1 step a frame
    assert w.speed == 1 and w.speed_actions[-1].isChecked()
    assert settings.value("training/speed") in (1, "1")
    progress = []  # every Progress: one after each frame, so its steps tell the steps per frame
    w.bridge.progress.connect(lambda p: progress.append(p.step))
    w.train()
    qtbot.waitUntil(lambda: len(progress) >= 3, timeout=30000)
    start = progress[-1]  # the first frames (the first poll, the panels built) are behind us

    def later_snapshots():
        return [s.step for s in w.visuals.history if s.step > start]

    qtbot.waitUntil(lambda: len(later_snapshots()) >= 10, timeout=30000)
    later = [p for p in progress if p >= start]
    assert len(later) >= 10 and np.diff(later).max() == 1  # one step a frame
    # every snapshot the panels got in slow motion is one step after the one before
    steps = later_snapshots()
    assert all(0 < b - a <= 2 for a, b in zip(steps, steps[1:])), steps  # the bridge may skip one
    w.speed_actions[0].trigger()  # Train > Speed > Full speed, live
    assert box.currentText() == "Full speed" and w.speed is None
    # many steps between two Progress messages: no longer one a frame
    slow = len(progress)
    qtbot.waitUntil(lambda: np.diff(progress[slow - 1 :]).max(initial=0) > 10, timeout=30000)
    w.stop()
    qtbot.waitUntil(lambda: not w.bridge.active, timeout=5000)
    # a new window starts at the remembered speed
    w2 = make_window(ProjectDocument(load_preset("xor-one-hidden")))
    assert w2.speed is None
    w2.set_speed(10)
    w3 = make_window(ProjectDocument(load_preset("xor-one-hidden")))
    assert w3.speed == 10 and w3.speed_box.currentText() == "10 steps a frame"
