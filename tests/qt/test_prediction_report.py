"""The prediction panel's test-set report, driven by the messages of small real training runs."""

from __future__ import annotations

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


class Run:
    def __init__(self, project, dataset=None, **kw):
        self.msgs: list = []
        session = TrainingSession(
            project,
            SessionOptions(max_chunk=1, download=False, **kw),
            dataset=dataset,
            on_message=self.msgs.append,
        )
        session.run()
        ds = self.dataset = session.dataset
        self.network = project.network
        self.analysis = analyze(self.network, Context(tuple(ds.input_shape), ds.n_classes, ds.name))
        self.snaps = [m for m in self.msgs if isinstance(m, Snapshot)]
        self.epochs = [m for m in self.msgs if isinstance(m, EpochEnd)]


@pytest.fixture(scope="module")
def images():
    """Three classes of noisy 8x8 images, one epoch-end report per epoch, many samples wrong."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300).astype(np.int32)
    x = rng.random((300, 8, 8, 1)).astype(np.float32) * 0.8
    for i, c in enumerate(y):
        x[i, 3 * c : 3 * c + 2] += 0.2
    ds = Dataset(
        "tiny-images",
        x[:200],
        y[:200],
        x[:0],
        y[:0],
        x[200:],
        y[200:],
        ("top stripe", "middle stripe", "bottom stripe"),
        "image",
    )
    net = Network.chain("Input", "Flatten", ("Dense", {"units": 3, "activation": "softmax"}), "Output")
    proj = Project(
        net, DatasetSpec("xor"), TrainingConfig(epochs=2, batch_size=20, learning_rate=0.05, optimizer="sgd")
    )
    return Run(proj, ds, probe_size=8)


@pytest.fixture(scope="module")
def points():
    return Run(load_preset("xor-one-hidden").with_training(epochs=1), probe_size=16)


def make(qtbot, run):
    from nnviz.qt.panels import DatasetInfo, PredictionPanel

    panel = PredictionPanel()
    qtbot.addWidget(panel)
    panel.set_context(run.network, run.analysis, DatasetInfo.from_dataset(run.dataset))
    panel.resize(900, 700)
    return panel


def feed(panel, msgs):
    """What the window does: snapshots to show_snapshot, Progress and EpochEnd to add_metrics."""
    for m in msgs:
        if isinstance(m, Snapshot):
            panel.show_snapshot(m)
        elif isinstance(m, (Progress, EpochEnd)):
            panel.add_metrics(m)


def test_confusion_matrix_and_wrong_tiles_show_the_newest_report(qtbot, images):
    panel = make(qtbot, images)
    feed(panel, images.msgs)
    report = images.epochs[-1].report
    assert report is not None and len(report.wrong_indices) == 16
    assert panel.report is report and panel.rebuilds == 1  # items built once, fed with setImage
    np.testing.assert_array_equal(panel.confusion_image.image, report.confusion)
    assert (
        panel.confusion_image.levels is not None
        and float(np.max(panel.confusion_image.levels)) == report.confusion.max()
    )
    k = len(images.dataset.class_names)
    assert [t.toPlainText() for t in panel.cell_texts] == [str(v) for v in report.confusion.ravel()]
    left = panel.confusion_plot.getAxis("left")._tickLevels[0]
    assert [name for _, name in left] == [f"{n} {i}" for i, n in enumerate(images.dataset.class_names)]
    assert len(left) == k
    for i in range(16):
        expected = (np.clip(report.wrong_x[i, ..., 0], 0, 1) * 255).astype(np.uint8)
        np.testing.assert_array_equal(panel.wrong_tile(i), expected)
        np.testing.assert_array_equal(report.wrong_x[i], images.dataset.x_test[report.wrong_indices[i]])
        p = report.wrong_probabilities[i, report.wrong_predicted[i]]
        caption = panel.wrong_captions[i].textItem.toPlainText()
        names = images.dataset.class_names
        short = [n if len(n) <= 11 else n[:10] + "." for n in names]  # "middle stripe" -> "middle str."
        assert caption.splitlines() == [
            short[report.wrong_true[i]],
            "→ " + short[report.wrong_predicted[i]],
            f"{p:.0%}",
        ]
    right = int(np.trace(report.confusion))
    assert f"{right:,} of 100 right" in panel.report_heading.text
    assert "epoch 2" in panel.report_heading.text


def test_hover_reads_counts_and_samples(qtbot, images):
    from PySide6.QtCore import QPointF

    panel = make(qtbot, images)
    feed(panel, images.msgs)
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.waitUntil(lambda: panel.confusion_image.sceneBoundingRect().width() > 10)  # laid out
    report = panel.report
    scene = panel.confusion_image.mapToScene(QPointF(0.5, 1.5))  # row 1 (true), column 0 (predicted)
    text = panel.hover_text(scene)
    assert text.startswith(f"true middle stripe, predicted top stripe: {report.confusion[1, 0]} samples")
    y0, x0 = panel.wrong_mosaic.origin(3)
    top, left, _, _ = panel.tile_box
    text = panel.hover_text(panel.wrong_image.mapToScene(QPointF(x0 + left + 2, y0 + top + 2)))
    assert text.startswith(f"test sample {report.wrong_indices[3]}: true ")


def test_an_earlier_report_then_the_newest_then_a_new_run(qtbot, images):
    panel = make(qtbot, images)
    panel.add_metrics(images.epochs[0])  # before any snapshot: kept, shown once items exist
    assert panel.confusion_image is None
    panel.show_snapshot(images.snaps[-1])
    np.testing.assert_array_equal(panel.confusion_image.image, images.epochs[0].report.confusion)
    image_item = panel.confusion_image
    panel.add_metrics(images.epochs[1])
    assert panel.confusion_image is image_item and panel.rebuilds == 1
    np.testing.assert_array_equal(panel.confusion_image.image, images.epochs[1].report.confusion)
    panel.add_metrics(EpochEnd(3, 30, 0.5, 0.5, float("nan"), float("nan"), 0.5, 0.5, 0.1))  # no report
    assert panel.report is images.epochs[1].report
    # A new run forgets the old report: the matrix is empty until the next epoch ends.
    panel.clear()
    panel.show_snapshot(images.snaps[0])
    assert panel.report is None and not panel.confusion_image.image.any()
    assert all(t.textItem.toPlainText() == "" for t in panel.wrong_captions)
    assert not panel.wrong_tile(0).any() or (panel.wrong_tile(0) == 255).all()


def test_2d_points_mark_the_wrong_test_points_instead_of_tiles(qtbot, points):
    panel = make(qtbot, points)
    feed(panel, points.msgs)
    report = points.epochs[-1].report
    assert report.wrong_x.shape[1] == 2 and len(report.wrong_indices) > 0
    np.testing.assert_array_equal(panel.confusion_image.image, report.confusion)
    assert panel.wrong_image is None
    xs, ys = panel.wrong_marks.getData()
    np.testing.assert_array_equal(xs, report.wrong_x[:, 0])
    np.testing.assert_array_equal(ys, report.wrong_x[:, 1])
    bottom = panel.confusion_plot.getAxis("bottom")._tickLevels[0]
    assert [name for _, name in bottom] == list(points.dataset.class_names)
    assert "Most confidently wrong" in panel.report_notes.text
    x0 = report.wrong_x[0]
    assert f"({x0[0]:.2f}, {x0[1]:.2f})" in panel.report_notes.text


def test_export_with_a_report(qtbot, images, tmp_path):
    panel = make(qtbot, images)
    feed(panel, images.msgs)
    path = panel.export(tmp_path / "prediction.png")
    assert path.stat().st_size > 1000


def test_report_button_scrolls_to_the_report_and_back(qtbot, images):
    from PySide6.QtCore import Qt

    panel = make(qtbot, images)
    feed(panel, images.msgs)
    panel.resize(700, 380)  # a normal dock: the report is below the fold
    panel.show()
    qtbot.waitExposed(panel)
    bar = panel._scroll.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == 0
    heading_y = panel.graphics.mapFromScene(panel.report_heading.scenePos()).y()
    qtbot.mouseClick(panel.report_button, Qt.MouseButton.LeftButton)
    assert panel.report_button.isChecked() and "↑" in panel.report_button.text()
    assert bar.value() == min(bar.maximum(), int(heading_y) - 6) > 0  # the report's heading at the top
    qtbot.mouseClick(panel.report_button, Qt.MouseButton.LeftButton)
    assert bar.value() == 0 and "↓" in panel.report_button.text()
