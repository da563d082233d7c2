"""The training panels inside the real window: built after the first frame, fed by the bridge, only when seen."""

from __future__ import annotations

import dataclasses
import gc
import math

import numpy as np
import shiboken6
from PySide6.QtWidgets import QApplication

from nnviz.core.datasets import Dataset, DatasetSpec
from nnviz.core.graph import Network
from nnviz.core.presets import load_preset
from nnviz.core.project import Project, TrainingConfig
from nnviz.qt.document import ProjectDocument

from .helpers import endless_xor_window, front, shown_window


class Recorder:
    """Everything the bridge emitted, to compare with what the panels show."""

    def __init__(self, bridge):
        self.snapshots, self.progress, self.epochs = [], [], []
        bridge.snapshot.connect(self.snapshots.append)
        bridge.progress.connect(self.progress.append)
        bridge.epoch_ended.connect(self.epochs.append)


def train_to_end(qtbot, w, timeout=60000):
    """Train, and return once the panels in view show the run's last snapshot and the
    curves have its last metrics (a throttled panel catches up on a timer, the curves
    take a poll's metrics in a zero-delay flush)."""
    w.train()
    qtbot.waitUntil(lambda: w.bridge.active, timeout=2000)
    qtbot.waitUntil(lambda: not w.bridge.active, timeout=timeout)
    v = w.visuals
    qtbot.waitUntil(lambda: all(v.panels[k].snapshot is v.latest for k in v.visible_keys()), timeout=10000)
    QApplication.processEvents()  # the flush, queued before the run ended


def test_docks_build_after_the_first_frame_with_view_menu_toggles(qtbot, make_window):
    w = make_window(ProjectDocument(load_preset("xor-one-hidden")))
    assert not w.visuals.is_built  # nothing of pyqtgraph before the window is on screen
    w.resize(1500, 950)
    w.show()
    qtbot.waitUntil(lambda: w.visuals.is_built, timeout=5000)
    v = w.visuals
    titles = [a.text() for a in w.visuals_menu.actions()]
    assert titles == [
        "Curves",
        "Decision boundary",
        "Network",
        "Prediction",
        "Convolution",
        "Weights",
        "Activations",
        "Gradients",
        "Loss surface",
    ]
    # 2D data, no convolution: the decision boundary leads, the convolution dock is hidden and disabled
    qtbot.waitUntil(lambda: v.panels["decision"].isVisible(), timeout=2000)
    assert v.panels["curves"].isVisible() and v.docks["conv"].isHidden()
    assert not v.docks["conv"].toggleViewAction().isEnabled()
    assert sorted(v.visible_keys()) == ["curves", "decision"]
    # the default layout shows the diagram, the curves and the decision boundary at once, readably
    for widget in (w.editor, v.panels["curves"], v.panels["decision"]):
        assert widget.width() >= 300 and widget.height() >= 250, widget
    assert v.panels["decision"].width() > v.panels["curves"].width()
    # View menu: close and reopen a panel
    action = v.docks["weights"].toggleViewAction()
    action.trigger()
    assert v.docks["weights"].isHidden()
    action.trigger()
    assert not v.docks["weights"].isHidden()


def test_xor_training_reaches_the_panels_exactly(qtbot, make_window):
    project = load_preset("xor-one-hidden").with_training(epochs=2)
    w = shown_window(make_window, qtbot, project)
    rec = Recorder(w.bridge)
    v = w.visuals
    # Throttled for longer than the run: only the end of the run can bring the last snapshot
    # to the panels (CI once saw it one interval late).
    v.intervals = {key: 30.0 if seconds > 0 else seconds for key, seconds in v.intervals.items()}
    train_to_end(qtbot, w)
    assert rec.snapshots and rec.progress and len(rec.epochs) == 2
    last = rec.snapshots[-1]
    decision = v.panels["decision"]
    assert decision.snapshot is last and v.latest is last
    np.testing.assert_array_equal(decision.heat.image, last.plane.probabilities[..., 1])
    # the points drawn are the points trained on (regenerated from the document's settings)
    x, _ = decision.train_points.getData()
    ds_points = w.visuals.panels["decision"].info.x_train
    np.testing.assert_allclose(x, ds_points[:, 0])
    # curves: every Progress and EpochEnd, in order
    curves = v.panels["curves"]
    np.testing.assert_array_equal(curves.series["step_loss"].xs, [p.step for p in rec.progress])
    np.testing.assert_array_equal(curves.series["step_loss"].ys, [p.train_loss for p in rec.progress])
    np.testing.assert_array_equal(curves.series["test_accuracy"].ys, [e.test_accuracy for e in rec.epochs])
    xs, ys = curves.curves["test_loss"].getData()
    np.testing.assert_array_equal(ys, [e.test_loss for e in rec.epochs])
    # the snapshots after the first one fell within the interval; the last came when the run ended
    assert v.updates["decision"] >= 1 and v.frames >= 1
    # panels behind other tabs were never drawn...
    for key in ("prediction", "weights", "activations", "gradients", "conv"):
        assert v.updates[key] == 0 and v.panels[key].snapshot is None, key
    # ...and catch up with the newest snapshot when brought to the front
    front(w, "weights")
    qtbot.waitUntil(lambda: v.panels["weights"].snapshot is last, timeout=2000)
    weights = v.panels["weights"]
    np.testing.assert_array_equal(weights.image.image, last.params[weights.selected_layer]["kernel"])
    assert "decision" not in v.visible_keys()  # behind the weights tab now
    # selecting a sample in one panel selects it in all of them
    v.panels["weights"].set_selected_sample(3)
    assert all(p.selected_sample == 3 for p in v.panels.values())
    # Reset forgets the run
    w.reset()
    assert v.latest is None and curves.series["step_loss"].n == 0
    assert all(p.snapshot is None for p in v.panels.values())


def test_hidden_panels_are_not_updated_while_training(qtbot, make_window):
    project = load_preset("xor-one-hidden").with_training(epochs=3)
    w = shown_window(make_window, qtbot, project)
    v = w.visuals
    v.docks["decision"].close()  # closed from its title bar
    front(w, "activations")
    drawn = []
    v.panels["decision"].show_snapshot = lambda s: drawn.append(s)  # must never be called
    train_to_end(qtbot, w)
    assert drawn == [] and v.updates["decision"] == 0
    assert v.updates["activations"] >= 1 and v.panels["activations"].snapshot is v.latest
    # a minimised window draws nothing
    assert v.visible_keys()
    w.showMinimized()
    assert v.visible_keys() == [] or not w.isMinimized()  # offscreen may not minimise
    w.showNormal()


def train_on(w, dataset, probe_size: int = 8) -> None:
    """The window's sessions train on ``dataset`` (no download) with a small probe batch."""
    from nnviz.engine.session import TrainingSession

    w.bridge._session_factory = lambda p, options: TrainingSession(
        p, dataclasses.replace(options, probe_size=probe_size), dataset=dataset
    )


def tiny_digits(n=96, seed=0):
    """28 x 28 images in two classes (a bright top or bottom half), so no download is needed."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 28, 28, 1)).astype(np.float32) * 0.3
    y = (np.arange(n) % 2).astype(np.int32)
    x[y == 0, :14] += 0.6
    x[y == 1, 14:] += 0.6
    x = np.clip(x, 0, 1)
    k = n * 2 // 3
    return Dataset("tiny-digits", x[:k], y[:k], x[:0], y[:0], x[k:], y[k:], ("top", "bottom"), "image")


def test_small_cnn_shows_the_convolution_panels(qtbot, make_window):
    net = Network.chain(
        "Input",
        ("Conv2D", {"filters": 4}),
        ("MaxPool2D", {}),
        ("Conv2D", {"filters": 3}),
        ("AvgPool2D", {}),
        "Flatten",
        ("Dense", {"units": 2, "activation": "softmax"}),
        "Output",
    )
    # imported files (the session gets the tiny set itself): no download, and the real
    # class names arrive with the loaded dataset
    project = Project(
        net, DatasetSpec("files", path="tiny.npz"), TrainingConfig(epochs=1, max_steps=8, batch_size=16)
    )
    w = shown_window(make_window, qtbot, project)
    w.document.set_loaded_dataset_shape((28, 28, 1), 2)
    assert not w.problem_text()
    ds = tiny_digits()
    train_on(w, ds)
    v = w.visuals
    assert not v.docks["conv"].isHidden() and v.docks["decision"].isHidden()
    qtbot.waitUntil(lambda: v.panels["conv"].isVisible(), timeout=2000)  # convolution leads for a CNN
    rec = Recorder(w.bridge)
    train_to_end(qtbot, w)
    last = rec.snapshots[-1]
    conv = v.panels["conv"]
    assert conv.snapshot is last
    convs = [n.id for n in net.nodes.values() if n.type == "Conv2D"]
    assert conv.conv_ids == [n for n in w.document.analysis.order if n in convs]
    for nid in convs:
        mos, img, _, _ = conv.kernels[nid]
        k = last.params[nid]["kernel"]
        for i in range(k.shape[3]):
            np.testing.assert_array_equal(mos.tile(img.image, i), k[..., 0, i])
    s = conv.selected_sample
    for nid, (_left, right) in conv.pools.items():
        for c in range(last.activations[nid].shape[-1]):
            np.testing.assert_array_equal(
                right.mosaic.tile(right.image.image, c), last.activations[nid][s][..., c]
            )
    # the loaded dataset's class names reach the panels
    assert conv.info.class_names == ("top", "bottom")
    front(w, "prediction")
    qtbot.waitUntil(lambda: v.panels["prediction"].snapshot is last, timeout=2000)
    # an MLP on the same data: the convolution dock goes away (Flatten + Dense only)
    w.set_document(
        ProjectDocument(
            Project(
                Network.chain("Input", "Flatten", ("Dense", {"units": 10}), "Output"), DatasetSpec("mnist")
            )
        )
    )
    assert v.docks["conv"].isHidden() and v.latest is None
    assert all(p.snapshot is None for p in v.panels.values())


def scene_item_count(panel) -> int:
    return len(panel.graphics.scene().items())


def test_panels_rebuild_many_times_without_crashing_or_leaking_items(qtbot, make_window, monkeypatch):
    """Change the network while the window is open, train a little, change it again, with collections between."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    # each edit discards the last run's weights: it asks, and the answer is yes
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Ok)

    project = load_preset("xor-one-hidden").with_training(epochs=1, max_steps=12)
    w = shown_window(make_window, qtbot, project, size=(1300, 850))
    v = w.visuals
    doc = w.document
    dense = doc.network.nodes_of_type("Dense")[0].id
    counts: dict[str, list[int]] = {k: [] for k in v.panels}
    keys = ["decision", "prediction", "weights", "activations", "gradients"]
    for i in range(8):
        old_heat = v.panels["decision"].heat
        assert (
            doc.set_param(dense, "units", 3 if i % 2 else 5) is None
        )  # two architectures: compiled once each
        assert all(p.snapshot is None for p in v.panels.values())  # the old run's pictures are gone
        front(w, keys[i % len(keys)])
        train_to_end(qtbot, w)
        if old_heat is not None:  # deleted by Qt, not left for the cyclic collector to free mid-paint
            assert not shiboken6.isValid(old_heat)
        w.grab()  # paint every visible item now
        gc.collect()
        w.grab()
        # bring every panel to the front once, so every one of them rebuilds its items
        for k in keys:
            front(w, k)
            w.grab()
        gc.collect()
        QApplication.processEvents()  # deferred deletes
        for k, p in v.panels.items():
            counts[k].append(scene_item_count(p))
    for k, c in counts.items():
        # same architecture, same number of items: old items are deleted, not piled up
        assert c[2:] == c[:2] * 3, (k, c)
    units = 3  # the last run (i = 7) had 3 units
    assert v.panels["weights"].snapshot.params[dense]["kernel"].shape == (2, units)


def test_new_document_and_preset_clear_the_panels(qtbot, make_window):
    w = shown_window(make_window, qtbot, load_preset("xor-one-hidden").with_training(epochs=1))
    v = w.visuals
    train_to_end(qtbot, w)
    assert v.panels["curves"].series["step_loss"].n > 0 and v.panels["decision"].snapshot is not None
    w.document.undo_stack.setClean()
    w.open_preset("circle-underfit")
    assert v.panels["curves"].series["step_loss"].n == 0 and v.panels["decision"].snapshot is None
    assert v.panels["decision"].network is w.document.network
    w.document.undo_stack.setClean()
    w.new_document()
    assert v.panels["decision"].network is w.document.network and math.isfinite(v.frames)


def test_right_click_exports_a_panel_as_png_or_svg(qtbot, make_window, tmp_path, monkeypatch):
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QContextMenuEvent, QImage
    from PySide6.QtWidgets import QApplication, QFileDialog, QMenu

    w = shown_window(make_window, qtbot, load_preset("xor-one-hidden").with_training(epochs=1))
    train_to_end(qtbot, w)
    v = w.visuals
    menus = []
    monkeypatch.setattr(QMenu, "popup", lambda self, pos, at=None: menus.append(self))
    viewport = v.panels["decision"].graphics.viewport()
    QApplication.sendEvent(
        viewport,
        QContextMenuEvent(
            QContextMenuEvent.Reason.Mouse, QPoint(50, 50), viewport.mapToGlobal(QPoint(50, 50))
        ),
    )
    assert [a.text() for a in menus[-1].actions()] == ["Export as PNG…", "Export as SVG…"]
    target = tmp_path / "boundary"  # the dialog's answer, without a suffix
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    menus[-1].actions()[0].trigger()
    png = tmp_path / "boundary.png"
    image = QImage(str(png))
    assert (
        not image.isNull()
        and image.width() > 100
        and "Exported boundary.png" in w.statusBar().currentMessage()
    )
    menus[-1].actions()[1].trigger()
    assert (tmp_path / "boundary.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    # cancelling the dialog writes nothing; an unwritable place is a message, not a traceback
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: ("", ""))
    assert v.export_panel("curves", "png") is None
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert v.export_panel("curves", "png", blocker / "sub" / "c.png") is None
    assert "Could not export" in w.statusBar().currentMessage()


def test_gradients_behind_a_tab_get_the_whole_history_when_shown(qtbot, make_window):
    w = shown_window(make_window, qtbot, load_preset("xor-one-hidden").with_training(epochs=2))
    v = w.visuals
    w.set_speed(1)  # many snapshots over 1.7 s, all while the gradients are behind the decision boundary
    train_to_end(qtbot, w)
    grads = v.panels["gradients"]
    assert v.updates["gradients"] == 0 and len(v.history) >= 4
    front(w, "gradients")
    qtbot.waitUntil(lambda: grads.snapshot is v.latest, timeout=2000)
    expected = [s.step for s in v.history if s.grad_norms]
    for nid, series in grads.series.items():
        np.testing.assert_array_equal(series.xs, expected)
        np.testing.assert_allclose(series.ys, [s.grad_norms[nid] for s in v.history if s.grad_norms])


def test_network_view_drafts_while_training_and_is_smooth_when_it_stops(qtbot, make_window):
    w = endless_xor_window(make_window, qtbot)
    v = w.visuals
    front(w, "network")
    net = v.panels["network"]
    w.train()
    qtbot.waitUntil(lambda: net.snapshot is not None and bool(net.links), timeout=30000)
    qtbot.waitUntil(lambda: w.bridge.state == "running", timeout=5000)
    items = [i for link in net.links for i in link.items.values()]
    assert net.draft and items and not any(i.opts["antialias"] for i in items)  # cheap while it moves
    w.pause()
    qtbot.waitUntil(lambda: w.bridge.paused, timeout=5000)
    assert not net.draft and all(i.opts["antialias"] for link in net.links for i in link.items.values())
    w.stop()
    qtbot.waitUntil(lambda: not w.bridge.active, timeout=5000)
    assert not net.draft


def test_at_most_two_heavy_panels_are_drawn_per_tick_while_training(qtbot, make_window, monkeypatch):
    import nnviz.qt.visuals as visuals

    w = endless_xor_window(make_window, qtbot)
    v = w.visuals
    for key in ("network", "weights", "activations", "gradients"):  # four heavy panels in view at once
        v.docks[key].setFloating(True)
        v.docks[key].show()
    qtbot.waitUntil(lambda: len([k for k in v.visible_keys() if k != "curves"]) >= 4, timeout=5000)
    per_tick = []
    real = v._deliver

    def counting(snapshot, keys=None, throttle=True):
        before = sum(v.updates[k] for k in v.panels if k != "curves")
        real(snapshot, keys, throttle)
        per_tick.append(sum(v.updates[k] for k in v.panels if k != "curves") - before)

    monkeypatch.setattr(v, "_deliver", counting)
    w.train()
    qtbot.waitUntil(lambda: len(per_tick) >= 30, timeout=30000)
    w.stop()
    qtbot.waitUntil(lambda: not w.bridge.active, timeout=5000)
    during = per_tick[:-3]  # the end of the run draws everything at once, on purpose
    assert max(during) <= visuals.MAX_HEAVY_PER_TICK and sum(during) > 0
    for key in ("network", "weights", "activations", "gradients"):
        assert v.panels[key].snapshot is v.latest, key  # nobody starved: all show the last state
        v.docks[key].setFloating(False)  # back into the window, which closes them with it


def test_a_cnn_run_started_before_the_docks_exist_reaches_them_when_they_are_built(qtbot, make_window):
    """Laying out the new docks toggles their visibility; a snapshot that is already there
    must wait until every panel has its network (it once reached the convolution panel first)."""
    net = Network.chain(
        "Input",
        ("Conv2D", {"filters": 2}),
        ("MaxPool2D", {}),
        "Flatten",
        ("Dense", {"units": 2, "activation": "softmax"}),
        "Output",
    )
    project = Project(
        net, DatasetSpec("files", path="tiny.npz"), TrainingConfig(epochs=1, max_steps=4, batch_size=16)
    )
    w = make_window(ProjectDocument(project))
    w.document.set_loaded_dataset_shape((28, 28, 1), 2)
    ds = tiny_digits()
    train_on(w, ds)
    v = w.visuals
    w.train()  # the window is not on screen yet: no docks
    qtbot.waitUntil(lambda: v.latest is not None and not w.bridge.active, timeout=60000)
    assert not v.is_built
    w.resize(1500, 950)
    w.show()
    qtbot.waitUntil(lambda: v.is_built, timeout=5000)
    qtbot.waitUntil(lambda: v.panels["conv"].snapshot is v.latest, timeout=5000)
    assert v.panels["conv"].network is w.document.network
    assert v.panels["conv"].pool_ids == [n.id for n in net.nodes.values() if n.type == "MaxPool2D"]
