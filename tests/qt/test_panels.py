"""Visualisation panels driven by real training snapshots: what each shows equals the data it was given."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from nnviz.core.datasets import Dataset, DatasetSpec
from nnviz.core.graph import Network, analyze
from nnviz.core.layers import Context
from nnviz.core.presets import load_preset
from nnviz.core.project import Project, TrainingConfig
from nnviz.engine.messages import EpochEnd, Progress, Snapshot
from nnviz.engine.options import SessionOptions
from nnviz.engine.session import TrainingSession

# ---------------------------------------------------------------- real runs (once per module)


class Run:
    def __init__(self, project, dataset=None, **kw):
        self.msgs: list = []
        kw.setdefault("snapshot_interval", 0.0)
        kw.setdefault("max_chunk", 1)
        session = TrainingSession(
            project, SessionOptions(download=False, **kw), dataset=dataset, on_message=self.msgs.append
        )
        session.run()
        ds = session.dataset
        self.network = project.network
        self.analysis = analyze(self.network, Context(tuple(ds.input_shape), ds.n_classes, ds.name))
        self.dataset = ds
        self.snaps = [m for m in self.msgs if isinstance(m, Snapshot)]
        self.metrics = [m for m in self.msgs if isinstance(m, (Progress, EpochEnd))]

    def of_type(self, type_name):
        return [n.id for n in self.network.nodes.values() if n.type == type_name]


@pytest.fixture(scope="module")
def xor():
    return Run(load_preset("xor-one-hidden").with_training(epochs=2), probe_size=16, plane_resolution=24)


@pytest.fixture(scope="module")
def cnn():
    rng = np.random.default_rng(0)
    x = rng.random((240, 12, 12, 1)).astype(np.float32)
    y = (x[:, :6].mean(axis=(1, 2, 3)) > x[:, 6:].mean(axis=(1, 2, 3))).astype(np.int32)
    ds = Dataset(
        "tiny-images", x[:160], y[:160], x[160:180], y[160:180], x[180:], y[180:], ("top", "bottom"), "image"
    )
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
    proj = Project(
        net, DatasetSpec("xor"), TrainingConfig(epochs=1, max_steps=6, batch_size=16, learning_rate=0.01)
    )
    return Run(proj, ds, probe_size=8)


@pytest.fixture(scope="module")
def mlp_images():
    """Flatten of an image input into a Dense: the weights panel shows each unit's weights as an image."""
    rng = np.random.default_rng(1)
    x = rng.random((120, 6, 5, 1)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype(np.int32)
    ds = Dataset("tiny-images", x[:100], y[:100], x[:0], y[:0], x[100:], y[100:], ("dark", "light"), "image")
    net = Network.chain(
        "Input",
        "Flatten",
        ("Dense", {"units": 3, "activation": "relu"}),
        ("Dense", {"units": 2, "activation": "softmax"}),
        "Output",
    )
    proj = Project(net, DatasetSpec("xor"), TrainingConfig(epochs=1, max_steps=3, batch_size=16))
    return Run(proj, ds, probe_size=6)


@pytest.fixture(autouse=True)
def _collect_panels_between_tests():
    """Free each test's panels here, not whenever the cyclic collector happens to run inside a later paint."""
    import gc

    yield
    gc.collect()


def make(qtbot, cls, run, snapshot=None):
    from nnviz.qt.panels import DatasetInfo

    panel = cls()
    qtbot.addWidget(panel)
    panel.set_context(run.network, run.analysis, DatasetInfo.from_dataset(run.dataset))
    panel.resize(900, 700)
    if snapshot is not False:
        panel.show_snapshot(snapshot or run.snaps[-1])
    return panel


# ---------------------------------------------------------------- curves


def test_curves_equal_the_metrics_fed(qtbot, xor):
    from nnviz.qt.panels import CurvesPanel
    from nnviz.qt.panels.curves import ema

    panel = make(qtbot, CurvesPanel, xor, snapshot=False)
    for m in xor.metrics:
        panel.add_metrics(m)
    progress = [m for m in xor.metrics if isinstance(m, Progress)]
    epochs = [m for m in xor.metrics if isinstance(m, EpochEnd)]
    assert progress and len(epochs) == 2
    x, y = panel.curves["step_loss"].getOriginalDataset()
    np.testing.assert_array_equal(x, [p.step for p in progress])
    np.testing.assert_allclose(y, [p.train_loss for p in progress])
    _, acc = panel.curves["step_accuracy"].getOriginalDataset()
    np.testing.assert_allclose(acc, [p.train_accuracy for p in progress])
    _, smooth = panel.curves["smooth_loss"].getOriginalDataset()
    np.testing.assert_allclose(smooth, ema(np.array([p.train_loss for p in progress]), panel.smoothing))
    for split in ("train", "test"):
        ex, ey = panel.curves[f"{split}_loss"].getOriginalDataset()
        np.testing.assert_array_equal(ex, [e.step for e in epochs])
        np.testing.assert_allclose(ey, [getattr(e, f"{split}_loss") for e in epochs])
        _, ea = panel.curves[f"{split}_accuracy"].getOriginalDataset()
        np.testing.assert_allclose(ea, [getattr(e, f"{split}_accuracy") for e in epochs])
    # No validation split: no validation points and no legend entry for them.
    assert panel.series["val_loss"].n == 0 and "val_loss" not in panel.in_legend
    assert "test_loss" in panel.in_legend
    assert "test − train" in panel.loss_plot.titleLabel.text

    panel.log_loss.setChecked(True)
    assert panel.loss_plot.ctrl.logYCheck.isChecked()
    panel.smoothing_box.setValue(0.0)
    _, raw = panel.curves["smooth_loss"].getOriginalDataset()
    np.testing.assert_allclose(raw, [p.train_loss for p in progress])
    panel.clear()
    assert panel.series["step_loss"].n == 0 and not panel.in_legend


def test_series_stay_bounded_and_smooth_as_they_come():
    from nnviz.qt.panels.curves import _Series, ema

    s = _Series(cap=16, smoothing=0.6)
    ys = np.sin(np.arange(100) / 7.0) + 2
    for i, y in enumerate(ys[:16]):
        s.append(i, y)
    np.testing.assert_array_equal(s.smooth, ema(ys[:16], 0.6))  # the average, point by point, as ema gives it
    s.append(
        16, ys[16]
    )  # full: neighbours merge in pairs (the later step, the mean value, the later average)
    assert s.n == 9
    np.testing.assert_array_equal(s.xs[:8], np.arange(1, 16, 2))
    np.testing.assert_allclose(s.ys[:8], (ys[0:16:2] + ys[1:16:2]) / 2)
    np.testing.assert_array_equal(s.smooth[:8], ema(ys[:16], 0.6)[1::2])
    assert (s.xs[8], s.ys[8]) == (16, ys[16])
    for i, y in enumerate(ys[17:], start=17):
        s.append(i, y)
    assert s.n <= 16 and s.xs[-1] == 99 and s.ys[-1] == ys[-1]  # bounded, and the newest point is exact
    assert np.all(np.diff(s.xs) > 0)
    assert s.smooth[-1] == pytest.approx(ema(ys, 0.6)[-1])  # the average never forgets a point
    assert (s.lo, s.hi) == (ys.min(), ys.max())


def test_steady_axes_move_rarely_and_yield_to_the_user(qtbot, xor):
    from nnviz.qt.panels import CurvesPanel

    panel = make(qtbot, CurvesPanel, xor, snapshot=False)
    moves = []
    panel.loss_plot.getViewBox().sigXRangeChanged.connect(lambda *a: moves.append(1))
    for i in range(1, 401):
        panel.add_metrics(Progress(i, 1, i / 400, 400, 2.0 / (1 + i / 50), 0.5, 0.01, 1000.0))
    assert len(moves) < 20  # a few times per run, not with every point
    lo, hi = panel.loss_plot.getViewBox().viewRange()[0]
    assert lo == 0 and hi >= 400
    ylo, yhi = panel.loss_plot.getViewBox().viewRange()[1]
    assert 0 <= ylo <= 2.0 / 9 and yhi >= 2.0 * 200 / 201  # every loss value in view
    # the user zooms: the range is theirs while points come
    vb = panel.loss_plot.getViewBox()
    vb.setXRange(10, 20, padding=0)
    vb.sigRangeChangedManually.emit([True, True])
    for i in range(401, 1001):
        panel.add_metrics(Progress(i, 1, 1.0, 1000, 0.1, 0.9, 0.01, 1000.0))
    assert vb.viewRange()[0] == [10, 20]
    panel.loss_plot.autoBtn.clicked.emit(panel.loss_plot.autoBtn)  # "A": follow the data again
    lo, hi = vb.viewRange()[0]
    assert lo == 0 and hi >= 1000


def test_ema_is_debiased():
    from nnviz.qt.panels.curves import ema

    np.testing.assert_allclose(ema(np.array([2.0, 2.0, 2.0]), 0.9), [2.0, 2.0, 2.0])
    out = ema(np.array([1.0, math.nan, 3.0]), 0.5)
    assert out[0] == 1.0 and out[1] == 1.0 and out[2] == pytest.approx((0.25 + 1.5) / 0.75)


# ---------------------------------------------------------------- weights


def test_weights_heatmap_is_the_kernel(qtbot, xor):
    from nnviz.qt.panels import WeightsPanel

    panel = make(qtbot, WeightsPanel, xor)
    snap = xor.snaps[-1]
    dense = [n for n in xor.analysis.order if n in xor.of_type("Dense")]
    assert panel.layers == dense and panel.layer_box.count() == 2
    np.testing.assert_array_equal(panel.image.image, snap.params[dense[0]]["kernel"])
    np.testing.assert_array_equal(panel.bias_image.image[0], snap.params[dense[0]]["bias"])
    lo, hi = panel.image.levels
    assert lo == -hi and hi == pytest.approx(np.abs(snap.params[dense[0]]["kernel"]).max())
    assert panel.tiles_image is None  # a 2D input has no image to show weights on

    panel.select_layer(dense[1])
    np.testing.assert_array_equal(panel.image.image, snap.params[dense[1]]["kernel"])
    # Hover names the weight and its value.
    text = panel._describe_weight(1, 0)
    assert "input 1 → unit 0" in text and f"{snap.params[dense[1]]['kernel'][1, 0]:.4f}" in text


def test_levels_adapt_slowly():
    from nnviz.qt.panels import SymmetricLevels

    lv = SymmetricLevels(shrink=0.1, grow=0.5)
    assert lv.update(np.array([-2.0, 1.0])) == (-2.0, 2.0)
    assert lv.update(np.array([0.1]))[1] == pytest.approx(2.0 - 0.1 * 1.9)
    assert lv.update(np.array([10.0]))[1] > 5.0


def test_first_dense_on_images_shows_unit_weights_as_images(qtbot, mlp_images):
    from nnviz.qt.panels import WeightsPanel

    panel = make(qtbot, WeightsPanel, mlp_images)
    dense = panel.layers[0]
    kernel = mlp_images.snaps[-1].params[dense]["kernel"]
    assert panel.image_source(dense) == (6, 5, 1)
    assert panel.image_source(panel.layers[1]) is None
    for j in range(3):
        np.testing.assert_array_equal(
            panel.mosaic.tile(panel.tiles_image.image, j), kernel[:, j].reshape(6, 5)
        )
    assert "unit 2" in panel._describe_tile(*panel.mosaic.origin(2))


# ---------------------------------------------------------------- convolution


def test_conv_panel_shows_kernels_feature_maps_and_pooling(qtbot, cnn):
    from nnviz.qt.panels import ConvPanel

    panel = make(qtbot, ConvPanel, cnn)
    snap = cnn.snaps[-1]
    convs = [n for n in cnn.analysis.order if n in cnn.of_type("Conv2D")]
    assert panel.conv_ids == convs
    for nid in convs:
        mos, img, _, shown = panel.kernels[nid]
        k = snap.params[nid]["kernel"]
        for i in range(k.shape[3]):
            np.testing.assert_array_equal(mos.tile(img.image, i), k[..., 0, i])
        if shown > 1:  # one row per input channel
            np.testing.assert_array_equal(mos.tile(img.image, 1 * k.shape[3] + 2), k[..., 1, 2])
    panel.selected_sample = 5
    for nid in convs:
        m = panel.maps[nid]
        act = snap.activations[nid][5]
        for c in range(act.shape[-1]):
            np.testing.assert_array_equal(m.mosaic.tile(m.image.image, c), act[..., c])
    pools = [n for n in cnn.analysis.order if n in cnn.of_type("MaxPool2D") + cnn.of_type("AvgPool2D")]
    assert list(panel.pools) == pools
    for nid in pools:
        left, right = panel.pools[nid]
        src = cnn.network.inputs_of(nid)[0]
        for c in range(snap.activations[nid].shape[-1]):
            np.testing.assert_array_equal(
                right.mosaic.tile(right.image.image, c), snap.activations[nid][5][..., c]
            )
            np.testing.assert_array_equal(
                left.mosaic.tile(left.image.image, c), snap.activations[src][5][..., c]
            )
        assert left.image.levels.tolist() == right.image.levels.tolist()  # comparable brightness
    np.testing.assert_array_equal(panel.input_image.image, snap.probe_x[5, ..., 0])
    text = panel._describe_kernel(convs[0], 0, 0)
    assert "filter 0, input channel 0" in text


# ---------------------------------------------------------------- activations


def test_activations_show_the_selected_sample_and_batch_histogram(qtbot, cnn, xor):
    from nnviz.qt.panels import ActivationsPanel
    from nnviz.qt.panels.activations import histogram

    panel = make(qtbot, ActivationsPanel, xor)
    snap = xor.snaps[-1]
    hidden = xor.of_type("Dense")[0]
    panel.selected_sample = 3
    row = panel.rows[hidden]
    np.testing.assert_allclose(row.bars.opts["height"], snap.activations[hidden][3])
    # bars are blue when positive, orange when negative (one brush for all when they share a sign)
    from nnviz.qt.panels.drawing.colors import BLUE, ORANGE

    def bar_colours(r):
        brushes = r.bars.opts["brushes"] or [r.bars.opts["brush"]] * len(r.bars.opts["height"])
        return [pg_brush(b).color().getRgb()[:3] for b in brushes]

    for sample in (3, 0, 1):
        panel.selected_sample = sample
        v = snap.activations[hidden][sample]
        assert bar_colours(row) == [ORANGE if x < 0 else BLUE for x in v]
    panel.selected_sample = 3
    counts, edges = histogram(snap.activations[hidden])
    x, y = row.hist.getData()
    np.testing.assert_allclose(x, edges)
    np.testing.assert_allclose(y, counts)
    assert counts.sum() == pytest.approx(1.0)
    assert xor.of_type("Output")[0] not in panel.rows

    panel = make(qtbot, ActivationsPanel, cnn)
    snap = cnn.snaps[-1]
    conv = cnn.of_type("Conv2D")[0]
    row = panel.rows[conv]
    for c in range(4):
        np.testing.assert_array_equal(row.mosaic.tile(row.image.image, c), snap.activations[conv][0][..., c])
    assert "dead units" in row.stats.toPlainText()  # a ReLU layer reports dead units
    flat = cnn.of_type("Flatten")[0]
    np.testing.assert_allclose(panel.rows[flat].bars.opts["height"], snap.activations[flat][0])


def test_long_vectors_are_drawn_as_a_grid(qtbot, mlp_images):
    from nnviz.qt.panels import ActivationsPanel, activations

    old, activations.MAX_BARS = activations.MAX_BARS, 10
    try:
        panel = make(qtbot, ActivationsPanel, mlp_images)
    finally:
        activations.MAX_BARS = old
    flat = mlp_images.of_type("Flatten")[0]
    row = panel.rows[flat]
    v = mlp_images.snaps[-1].activations[flat][0]
    cells = row.image.image.ravel()
    np.testing.assert_array_equal(cells[: v.size], v)
    assert np.isnan(cells[v.size :]).all()
    assert f"unit 7: {v[7]:.4f}" in row.describe_cell(7 // row.grid[1], 7 % row.grid[1])


def test_health_spots_dead_relus_and_saturation():
    from nnviz.qt.panels.activations import health

    act = np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 0.5]])
    assert health(act, "relu").startswith("dead units 33%")
    assert health(np.array([[0.999, 0.5], [0.001, 0.5]]), "sigmoid") == "saturated 50%"


# ---------------------------------------------------------------- gradients


def test_gradient_lines_equal_the_norms(qtbot, xor):
    from nnviz.qt.panels import GradientsPanel

    panel = make(qtbot, GradientsPanel, xor, snapshot=False)
    for s in xor.snaps:
        panel.show_snapshot(s)
        panel.show_snapshot(s)  # the same snapshot twice adds nothing
    by_step: dict = {}
    for s in xor.snaps:  # a step can be snapshotted twice (end of a chunk and of an epoch): one point
        if s.grad_norms:
            by_step.setdefault(s.step, s)
    with_grads = list(by_step.values())
    dense = [n for n in xor.analysis.order if n in xor.of_type("Dense")]
    assert panel.layers == dense
    for nid in dense:
        x, y = panel.curves[nid].getOriginalDataset()
        np.testing.assert_array_equal(x, [s.step for s in with_grads])
        np.testing.assert_allclose(y, [s.grad_norms[nid] for s in with_grads])
    assert panel.plot.ctrl.logYCheck.isChecked()
    _, latest = panel.depth_curve.getOriginalDataset()
    np.testing.assert_allclose(latest, [xor.snaps[-1].grad_norms[n] for n in dense])
    assert panel.rebuilds == 1


# ---------------------------------------------------------------- decision boundary


def test_decision_heatmap_is_class_one_probability(qtbot, xor):
    from nnviz.qt.panels import DecisionBoundaryPanel

    panel = make(qtbot, DecisionBoundaryPanel, xor)
    plane = xor.snaps[-1].plane
    np.testing.assert_array_equal(panel.heat.image, plane.probabilities[..., 1])
    assert tuple(panel.heat.levels) == (0.0, 1.0)
    # The image covers the grid: pixel centres at the grid's coordinates.
    rect = panel.heat.mapRectToParent(panel.heat.boundingRect())
    dx = plane.xs[1] - plane.xs[0]
    assert rect.left() == pytest.approx(plane.xs[0] - dx / 2, rel=1e-4)
    assert rect.bottom() == pytest.approx(plane.ys[-1] + (plane.ys[1] - plane.ys[0]) / 2, rel=1e-4)
    n_train = len(panel.info.x_train)
    assert len(panel.train_points.data) == n_train and len(panel.test_points.data) == len(panel.info.x_test)
    hidden = xor.of_type("Dense")[0]
    assert list(panel.thumbs) == [hidden]  # the layer feeding the Output is the big plot itself
    mos, img = panel.thumbs[hidden]
    for u in range(4):
        np.testing.assert_array_equal(mos.tile(img.image, u), plane.nodes[hidden][..., u])
    r, c = 3, 5
    assert f"{plane.probabilities[r, c, 1]:.4f}" in panel._describe_plane(r, c)
    panel.selected_sample = 2
    sx, sy = panel.selected_marker.getData()
    assert (sx[0], sy[0]) == tuple(xor.snaps[-1].probe_x[2])


def test_decision_panel_without_plane_says_why(qtbot, cnn):
    from nnviz.qt.panels import DecisionBoundaryPanel

    panel = make(qtbot, DecisionBoundaryPanel, cnn)
    assert panel.heat is None


# ---------------------------------------------------------------- prediction


def test_selecting_a_sample_updates_the_prediction(qtbot, cnn, xor):
    from nnviz.qt.panels import ConvPanel, PredictionPanel, link_samples

    panel = make(qtbot, PredictionPanel, cnn)
    conv = make(qtbot, ConvPanel, cnn)
    link_samples([panel, conv])
    snap = cnn.snaps[-1]
    np.testing.assert_allclose(panel.bars.opts["width"], snap.probabilities[0])
    with qtbot.waitSignal(panel.sample_selected) as sig:
        panel.selected_sample = 4
    assert sig.args == [4] and conv.selected_sample == 4
    np.testing.assert_allclose(panel.bars.opts["width"], snap.probabilities[4])
    np.testing.assert_array_equal(panel.sample_image.image, snap.probe_x[4, ..., 0])
    assert f"sample 4: true <b>{cnn.dataset.class_names[snap.probe_y[4]]}</b>" in panel.heading.text
    # Clicking a gallery tile selects that sample.
    y0, x0 = panel.gallery_mosaic.origin(6)
    scene_pos = panel.gallery.mapToScene(pg_point(x0 + 3, y0 + 3))
    assert panel.sample_at(scene_pos) == 6
    tile = panel.gallery_mosaic.tile(panel.gallery.image, 6)
    np.testing.assert_array_equal(
        tile[2:-2, 2:-2, 0], (np.clip(snap.probe_x[6, ..., 0], 0, 1) * 255).astype(np.uint8)
    )

    panel = make(qtbot, PredictionPanel, xor)
    panel.selected_sample = 7
    np.testing.assert_allclose(panel.bars.opts["width"], xor.snaps[-1].probabilities[7])
    assert panel.bar_plot.getAxis("left")._tickLevels[0][0][1] == xor.dataset.class_names[0]


def pg_brush(b):
    import pyqtgraph as pg

    return pg.mkBrush(b)


def pg_point(x, y):
    from PySide6.QtCore import QPointF

    return QPointF(x, y)


# ---------------------------------------------------------------- hover, export, speed


def test_hover_reads_the_value_under_the_cursor(qtbot, xor):
    from nnviz.qt.panels import WeightsPanel

    panel = make(qtbot, WeightsPanel, xor)
    panel.show()
    qtbot.waitExposed(panel)
    kernel = xor.snaps[-1].params[panel.layers[0]]["kernel"]
    scene_pos = panel.image.mapToScene(pg_point(2.5, 1.5))  # pixel (row 1, col 2)
    panel._on_scene_mouse_moved(scene_pos)
    assert "input 1 → unit 2" in panel.readout.text() and f"{kernel[1, 2]:.4f}" in panel.readout.text()


def shown_with_metrics(qtbot, name, xor, cnn):
    """Panel ``name`` on screen with a real run's snapshot and metrics (the CNN run for the conv panel)."""
    import nnviz.qt.panels as panels

    run = cnn if name == "ConvPanel" else xor
    panel = make(qtbot, getattr(panels, name), run)
    for m in run.metrics:
        panel.add_metrics(m)
    panel.show()
    qtbot.waitExposed(panel)
    return panel, run


@pytest.mark.parametrize(
    "name",
    [
        "CurvesPanel",
        "WeightsPanel",
        "ConvPanel",
        "ActivationsPanel",
        "GradientsPanel",
        "DecisionBoundaryPanel",
        "PredictionPanel",
    ],
)
def test_export_writes_png_and_svg(qtbot, tmp_path, xor, cnn, name):
    panel, _ = shown_with_metrics(qtbot, name, xor, cnn)
    png = panel.export(tmp_path / "shot.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 2000
    svg = panel.export(tmp_path / "shot.svg")
    assert b"<svg" in svg.read_bytes()[:2000]


def test_many_snapshots_reuse_items(qtbot, xor):
    """Every snapshot of a run, shown eight times over, rebuilds nothing (the time updates
    take is benchmarks/panel_updates.py's to measure)."""
    import nnviz.qt.panels as panels

    # every panel drawn from snapshots (the loss surface is drawn from its own computations)
    made = [make(qtbot, cls, xor) for cls in panels.PANELS if cls is not panels.SurfacePanel]
    snaps = xor.snaps
    items_before = [len(p.graphics.scene().items()) for p in made]
    for p in made:
        for i in range(8 * len(snaps)):
            p.show_snapshot(snaps[i % len(snaps)])
    assert [p.rebuilds for p in made if not isinstance(p, panels.CurvesPanel)] == [1] * (len(made) - 1)
    assert [len(p.graphics.scene().items()) for p in made] == items_before
    # Memory stays flat: another round of snapshots leaves (almost) nothing behind.
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    for i in range(200):
        for p in made:
            p.show_snapshot(snaps[i % len(snaps)])
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert after - before < 1_000_000, after - before


# ---------------------------------------------------------------- palette


def test_panels_follow_the_palette_and_keep_the_data_colours(qtbot, xor):
    """A dark palette recolours background, axes, titles and legends, at once and on items built later."""
    import pyqtgraph as pg
    from PySide6.QtGui import QColor, QPalette

    from nnviz.qt.panels import CurvesPanel, WeightsPanel
    from nnviz.qt.panels.drawing.colors import BLUE, INK, ORANGE
    from nnviz.qt.panels.drawing.theme import LIGHT, Theme

    dark = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Base, QColor(30, 31, 34)),
        (QPalette.ColorRole.Text, QColor(223, 225, 229)),
        (QPalette.ColorRole.Window, QColor(43, 45, 48)),
        (QPalette.ColorRole.WindowText, QColor(223, 225, 229)),
    ):
        dark.setColor(role, colour)
    theme = Theme.from_palette(dark)
    assert theme.dark and theme.background == "#1e1f22" and theme.ink == "#dfe1e5"

    def frame_colours(panel):
        items = panel.graphics.scene().items()
        axes = [a for a in items if isinstance(a, pg.AxisItem) and a.isVisible()]
        labels = [lb for lb in items if isinstance(lb, pg.LabelItem) and lb.text]
        return (
            {a.textPen().color().name() for a in axes},
            {QColor(lb.opts["color"]).name() for lb in labels},
            panel.graphics.backgroundBrush().color().name(),
        )

    weights = make(qtbot, WeightsPanel, xor)
    curves = make(qtbot, CurvesPanel, xor, snapshot=False)
    for m in xor.metrics:
        curves.add_metrics(m)
    lut_before = weights.image.lut.copy() if weights.image.lut is not None else None
    assert frame_colours(weights) == ({INK}, {INK}, LIGHT.background)

    for panel in (weights, curves):
        panel.setPalette(dark)  # a PaletteChange event, as when the app switches to dark
        assert panel.theme == theme
        axes, labels, background = frame_colours(panel)
        assert axes == {theme.ink} and labels == {theme.ink} and background == theme.background
    # the data keep TensorFlow Playground's colours; the values shown are still the kernel
    lut = weights.image.lut
    if lut_before is not None:
        np.testing.assert_array_equal(lut, lut_before)
    cmap = weights.bar.colorMap()
    assert tuple(cmap.map(0.0, mode="byte")[:3]) == ORANGE and tuple(cmap.map(1.0, mode="byte")[:3]) == BLUE
    np.testing.assert_array_equal(weights.image.image, xor.snaps[-1].params[weights.layers[0]]["kernel"])
    assert curves.curves["test_loss"].opts["pen"].color().getRgb()[:3] == BLUE
    assert curves.curves["smooth_loss"].opts["pen"].color().lightness() > 128  # light on dark

    # items built while dark (another layer) come in the dark theme's colours too
    weights.select_layer(weights.layers[1])
    assert frame_colours(weights) == ({theme.ink}, {theme.ink}, theme.background)

    # and back to the light palette
    weights.setPalette(QPalette(QColor(239, 239, 239)))
    assert weights.theme == LIGHT and frame_colours(weights) == ({INK}, {INK}, LIGHT.background)


@pytest.mark.parametrize(
    "name",
    [
        "CurvesPanel",
        "WeightsPanel",
        "ConvPanel",
        "ActivationsPanel",
        "GradientsPanel",
        "DecisionBoundaryPanel",
        "PredictionPanel",
    ],
)
def test_every_panel_paints_in_the_dark_and_back(qtbot, xor, cnn, name):
    """Switch palettes on a shown panel with data, and paint each time (a recolouring once crashed Qt)."""
    from PySide6.QtGui import QColor, QPalette

    from nnviz.qt.panels.drawing.theme import LIGHT

    panel, run = shown_with_metrics(qtbot, name, xor, cnn)
    dark = QPalette(QColor(43, 45, 48))
    dark.setColor(QPalette.ColorRole.Base, QColor(30, 31, 34))
    dark.setColor(QPalette.ColorRole.Text, QColor(223, 225, 229))
    for palette in (dark, QPalette(QColor(239, 239, 239)), dark):
        panel.setPalette(palette)
        image = panel.graphics.grab().toImage()
        corner = image.pixelColor(2, 2).name()
        assert corner == panel.theme.background, (name, corner)
        panel.show_snapshot(run.snaps[-2])  # new data in the new colours
        panel.show_snapshot(run.snaps[-1])
        panel.graphics.grab()
    assert panel.theme.dark and panel.theme != LIGHT
