"""GlobalAveragePool2D in the window: dragged from the palette, wired by hand, trained, drawn in every panel."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint

from nnviz.core.datasets import DatasetSpec
from nnviz.core.graph import Network
from nnviz.core.project import Project, TrainingConfig

from ..engine.test_global_pool import bright_or_dark
from .helpers import front, shown_window
from .test_editor import drag, drop, port_pos
from .test_visuals import train_on


def test_dropped_wired_trained_and_drawn_in_every_panel(qtbot, make_window):
    net = Network()
    inp = net.add_node("Input", position=(0, 0)).id
    conv = net.add_node("Conv2D", {"filters": 3}, position=(240, 0)).id
    dense = net.add_node("Dense", {"units": 2, "activation": "softmax"}, position=(720, 0)).id
    out = net.add_node("Output", position=(960, 0)).id
    net.connect(inp, conv)
    net.connect(dense, out)
    project = Project(
        net,
        DatasetSpec("files", path="bright.npz"),
        TrainingConfig(epochs=2, batch_size=16, learning_rate=0.05),
    )
    w = shown_window(make_window, qtbot, project)
    doc = w.document
    doc.set_loaded_dataset_shape((10, 10, 1), 2)
    editor = w.editor
    editor.view.resetTransform()
    editor.view.centerOn(480, 0)

    # the palette hands the layer out; it lands between the convolution and the Dense
    palette = w.palette_widget
    mime = palette.tree.mimeData([palette.items()["GlobalAveragePool2D"]])
    at = editor.view.mapFromScene(480, 0)
    drop(editor, mime, QPoint(at.x(), at.y()))
    (gap,) = [n.id for n in doc.network.nodes_of_type("GlobalAveragePool2D")]
    assert w.problem_text()  # not wired yet: the window says what is wrong
    drag(editor, port_pos(editor, conv, "out"), port_pos(editor, gap, "in"))
    drag(editor, port_pos(editor, gap, "out"), port_pos(editor, dense, "in"))
    assert doc.network.has_edge(conv, gap) and doc.network.has_edge(gap, dense)
    assert not w.problem_text() and doc.analysis.shapes[gap] == (3,)
    assert doc.analysis.param_counts[dense] == 3 * 2 + 2  # one input per map, no Flatten

    ds = bright_or_dark(120, size=10)
    train_on(w, ds)
    v = w.visuals
    w.train()
    qtbot.waitUntil(lambda: w.bridge.active, timeout=2000)
    qtbot.waitUntil(lambda: not w.bridge.active, timeout=60000)
    last = v.latest
    applicable = [k for k, ok in v.applicable.items() if ok]
    assert {"network", "prediction", "conv", "activations", "weights", "gradients"} <= set(applicable)
    assert "decision" not in applicable  # images, not points in a plane
    for key in applicable:
        if key == "surface":  # computed on request, not from snapshots
            continue
        front(w, key)
        qtbot.waitUntil(lambda key=key: v.panels[key].snapshot is last, timeout=5000)

    # the convolution panel: each map next to the single number it is averaged to
    conv_panel = v.panels["conv"]
    assert list(conv_panel.pools) == [gap]
    left, right = conv_panel.pools[gap]
    s = conv_panel.selected_sample
    maps = last.activations[conv][s]
    for c in range(3):
        np.testing.assert_array_equal(left.mosaic.tile(left.image.image, c), maps[..., c])
        np.testing.assert_allclose(
            right.mosaic.tile(right.image.image, c), [[maps[..., c].mean()]], rtol=1e-5, atol=1e-6
        )
    # the network view: the pooled values are a column of their own, fed map by map
    network = v.panels["network"]
    column = next(c for c in network.columns if gap in c.nodes)
    assert column.kind == "units"
    (link,) = [lk for lk in network.links if lk.dst is column]
    assert link.kind == "identity" and link.by == "channel"
