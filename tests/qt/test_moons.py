"""Moons in the window: the settings panel's dataset menu offers it and the decision panel draws it."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz.core.datasets import DatasetSpec
from nnviz.core.graph import Network
from nnviz.core.project import Project, TrainingConfig
from nnviz.qt.document import ProjectDocument
from nnviz.qt.settings_panel import TrainingSettingsPanel

from .test_panels import Run, make


@pytest.fixture(scope="module")
def moons_run():
    net = Network.chain(
        "Input",
        ("Dense", {"units": 8, "activation": "tanh"}),
        ("Dense", {"units": 2, "activation": "softmax"}),
        "Output",
    )
    proj = Project(
        net,
        DatasetSpec("moons", n_samples=200, noise=0.1),
        TrainingConfig(epochs=3, batch_size=10, learning_rate=0.05),
    )
    return Run(proj, probe_size=16, plane_resolution=24)


def test_settings_panel_offers_moons_with_its_toy_settings(qtbot, doc):
    panel = TrainingSettingsPanel(doc)
    qtbot.addWidget(panel)
    panel.show()
    i = panel.dataset.findData("moons")
    assert i >= 0 and panel.dataset.itemText(i) == "Moons (toy 2D)"
    panel.dataset.setCurrentIndex(i)
    panel.dataset.activated.emit(i)
    assert doc.project.dataset.name == "moons"
    ctx = doc.context
    assert (ctx.input_shape, ctx.n_classes) == ((2,), 2)
    assert panel.noise.isVisibleTo(panel) and panel.samples.isVisibleTo(panel)
    doc.undo_stack.undo()
    assert doc.project.dataset.name == "xor" and panel.dataset.currentData() == "xor"


def test_decision_panel_draws_the_moons_boundary(qtbot, moons_run):
    from nnviz.qt.panels import DecisionBoundaryPanel

    panel = make(qtbot, DecisionBoundaryPanel, moons_run)
    plane = moons_run.snaps[-1].plane
    assert plane is not None and panel.heat is not None
    np.testing.assert_array_equal(panel.heat.image, plane.probabilities[..., 1])
    assert len(panel.train_points.data) == len(moons_run.dataset.x_train)


def test_window_document_on_moons_analyses_without_loading(qapp):
    doc = ProjectDocument()
    doc.set_dataset(DatasetSpec("moons"))
    assert doc.project.dataset.name == "moons" and doc.context.input_shape == (2,)
