"""The network view driven by real training snapshots: what it draws equals the snapshot it was given."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from nnviz.core.datasets import Dataset, DatasetSpec
from nnviz.core.graph import Network, analyze
from nnviz.core.layers import Context
from nnviz.core.presets import load_preset
from nnviz.core.project import Project, TrainingConfig
from nnviz.engine.messages import Snapshot
from nnviz.engine.options import SessionOptions
from nnviz.engine.session import TrainingSession


class Run:
    """A tiny real training run and its snapshots."""

    def __init__(self, project, dataset=None, **kw):
        msgs: list = []
        kw.setdefault("snapshot_interval", 0.0)
        kw.setdefault("max_chunk", 1)
        session = TrainingSession(
            project, SessionOptions(download=False, **kw), dataset=dataset, on_message=msgs.append
        )
        session.run()
        ds = session.dataset
        self.network = project.network
        self.analysis = analyze(self.network, Context(tuple(ds.input_shape), ds.n_classes, ds.name))
        self.dataset = ds
        self.snaps = [m for m in msgs if isinstance(m, Snapshot)]

    def ids(self, type_name):
        return [n for n in self.analysis.order if self.network.nodes[n].type == type_name]


def images(h, w, c, n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, h, w, c)).astype(np.float32)
    y = (x[:, : h // 2].mean(axis=(1, 2, 3)) > x[:, h // 2 :].mean(axis=(1, 2, 3))).astype(np.int32)
    k = n * 3 // 4
    return Dataset("tiny-images", x[:k], y[:k], x[:0], y[:0], x[k:], y[k:], ("top", "bottom"), "image")


@pytest.fixture(scope="module")
def xor():
    return Run(load_preset("xor-one-hidden").with_training(epochs=1), probe_size=16, plane_resolution=8)


@pytest.fixture(scope="module")
def mlp():
    """fashion-mlp-sigmoid's shape: 28×28 images, Flatten, 128 sigmoid units, 10 softmax classes."""
    rng = np.random.default_rng(1)
    x = rng.random((200, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 10, 200).astype(np.int32)
    ds = Dataset(
        "tiny-fashion",
        x[:160],
        y[:160],
        x[:0],
        y[:0],
        x[160:],
        y[160:],
        tuple(f"class {i}" for i in range(10)),
        "image",
    )
    net = Network.chain(
        "Input",
        "Flatten",
        ("Dense", {"units": 128, "activation": "sigmoid"}),
        ("Dense", {"units": 10, "activation": "softmax"}),
        "Output",
    )
    proj = Project(net, DatasetSpec("xor"), TrainingConfig(epochs=1, max_steps=4, batch_size=32))
    return Run(proj, ds, probe_size=12)


@pytest.fixture(scope="module")
def cnn():
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
        net, DatasetSpec("xor"), TrainingConfig(epochs=1, max_steps=4, batch_size=16, learning_rate=0.01)
    )
    return Run(proj, images(12, 12, 1), probe_size=8)


@pytest.fixture(scope="module")
def branches():
    """A skip connection, a concatenation, a Dropout and an Activation, on 2D points."""
    net = Network()
    inp = net.add_node("Input")
    d1 = net.add_node("Dense", {"units": 5, "activation": "relu"})
    drop = net.add_node("Dropout", {"rate": 0.2})
    d2 = net.add_node("Dense", {"units": 5, "activation": "linear"})
    act = net.add_node("Activation", {"function": "tanh"})
    add = net.add_node("Add")
    cat = net.add_node("Concatenate")
    d3 = net.add_node("Dense", {"units": 2, "activation": "softmax"})
    out = net.add_node("Output")
    for a, b in [
        (inp, d1),
        (d1, drop),
        (drop, d2),
        (d2, act),
        (act, add),
        (d1, add),
        (add, cat),
        (inp, cat),
        (cat, d3),
        (d3, out),
    ]:
        net.connect(a.id, b.id)
    proj = Project(
        net, DatasetSpec("xor", n_samples=200), TrainingConfig(epochs=1, max_steps=3, batch_size=16)
    )
    return Run(proj, probe_size=8)


@pytest.fixture(autouse=True)
def _collect_panels_between_tests():
    import gc

    yield
    gc.collect()


def make(qtbot, run, snapshot=None, size=(1000, 650)):
    from nnviz.qt.panels import DatasetInfo, NetworkPanel

    panel = NetworkPanel()
    qtbot.addWidget(panel)
    panel.set_context(run.network, run.analysis, DatasetInfo.from_dataset(run.dataset))
    panel.resize(*size)
    if snapshot is not False:
        panel.show_snapshot(snapshot or run.snaps[-1])
    return panel


def expected_rgb(value, level):
    from nnviz.qt.panels.drawing.colors import diverging_cmap

    return np.array(diverging_cmap().map((np.clip(value / level, -1, 1) + 1) / 2, mode="byte"))[..., :3]


def drawn_rgb(col):
    return np.array([b.color().getRgb()[:3] for b in col.scatter.data["brush"]])


def curve_starts(link):
    """(x, y) where every drawn connection begins, read back from the curve items."""
    xs, ys = [], []
    for item in link.items.values():
        x, y = item.getData()
        if x is None or not len(x):
            continue
        starts = np.r_[0, np.flatnonzero(np.isnan(x))[:-1] + 1]
        xs.append(x[starts])
        ys.append(y[starts])
    return (np.concatenate(xs), np.concatenate(ys)) if xs else (np.zeros(0), np.zeros(0))


def n_curves(item):
    x, _ = item.getData()
    return 0 if x is None else int(np.isnan(x).sum())


# ---------------------------------------------------------------- small networks: everything drawn


def test_xor_draws_every_neuron_and_connection_from_the_snapshot(qtbot, xor):
    from nnviz.qt.panels.network import WIDTHS

    panel = make(qtbot, xor)
    snap = xor.snaps[-1]
    inp, (h, o) = xor.ids("Input")[0], xor.ids("Dense")
    assert [c.head for c in panel.columns] == [inp, h, o]  # Output is not drawn: it repeats the last layer
    assert [c.x for c in panel.columns] == sorted(c.x for c in panel.columns)
    for col in panel.columns:
        act = snap.activations[col.tail]
        np.testing.assert_array_equal(col.shown, np.arange(act.shape[1]))
        np.testing.assert_array_equal(col.values, act[0])
        assert len(col.scatter.data) == act.shape[1]
        assert col.level == pytest.approx(np.abs(act).max())
        assert np.abs(drawn_rgb(col) - expected_rgb(act[0], col.level)).max() <= 3

    links = {(lk.src.head, lk.dst.head): lk for lk in panel.links}
    assert set(links) == {(inp, h), (h, o)}
    for (_s, d), link in links.items():
        k = snap.params[d]["kernel"]
        assert len(link.values) == k.size  # every connection
        np.testing.assert_array_equal(link.values, k[link.src_idx, link.dst_idx])
        order = np.argsort(np.abs(link.values), kind="stable")
        assert np.all(np.diff(link.widths()[order]) >= 0)  # wider means larger |w|
        assert link.widths().max() == WIDTHS[-1]  # the largest weight gets the widest line
        # Blue curves carry the positive weights, orange the negative, one curve per weight.
        positive = sum(n_curves(it) for (sign, _), it in link.items.items() if sign == 1)
        assert positive == int((k >= 0).sum())
        assert sum(n_curves(it) for it in link.items.values()) == k.size
        # Each curve leaves the right edge of its source neuron.
        x0, y0 = curve_starts(link)
        src = link.src
        assert np.allclose(x0, src.x + src.radius)
        assert set(np.round(y0, 6)) == set(np.round(src.ys, 6))

    out = panel.columns[-1]
    probs = snap.activations[o][0]
    assert [t.toPlainText() for t in out.labels] == [
        f"{xor.dataset.class_names[k]}  {probs[k]:.2f}" for k in range(2)
    ]
    assert [t.toPlainText().split(" = ")[0] for t in panel.columns[0].labels] == ["x1", "x2"]
    assert "label" in panel.header.text and xor.dataset.class_names[int(snap.probe_y[0])] in panel.header.text


def test_selecting_a_sample_recolours_without_a_new_snapshot(qtbot, xor):
    panel = make(qtbot, xor)
    snap = xor.snaps[-1]
    rebuilds, levels = panel.rebuilds, [c.level for c in panel.columns]
    seen = []
    panel.sample_selected.connect(seen.append)
    panel.set_selected_sample(5)
    assert seen == [5] and panel.rebuilds == rebuilds and panel.snapshot is snap
    assert [c.level for c in panel.columns] == levels  # same snapshot, same colour scale
    for col in panel.columns:
        act = snap.activations[col.tail][5]
        np.testing.assert_array_equal(col.values, act)
        assert np.abs(drawn_rgb(col) - expected_rgb(act, col.level)).max() <= 3
    assert "sample 5 of 16" in panel.header.text
    if not np.allclose(
        snap.activations[panel.columns[1].tail][5], snap.activations[panel.columns[1].tail][0]
    ):
        panel.set_selected_sample(0)
        assert not np.array_equal(
            drawn_rgb(panel.columns[1]),
            expected_rgb(snap.activations[panel.columns[1].tail][5], panel.columns[1].level),
        )


def test_hover_names_layer_unit_and_value(qtbot, xor):
    panel = make(qtbot, xor)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_selected_sample(2)
    hidden = panel.columns[1]
    value = xor.snaps[-1].activations[hidden.tail][2, 3]
    bias = xor.snaps[-1].params[hidden.head]["bias"][3]
    scene = panel.view.mapViewToScene(QPointF(hidden.x, hidden.ys[3]))
    panel._on_scene_mouse_moved(scene)
    text = panel.readout.text()
    assert panel.node_name(hidden.head) in text and "unit 3 of 4" in text
    assert f"{value:.4f}" in text and f"bias {bias:.4f}" in text
    out = panel.columns[-1]
    panel._on_scene_mouse_moved(panel.view.mapViewToScene(QPointF(out.x, out.ys[1])))
    assert f"class {xor.dataset.class_names[1]}" in panel.readout.text()
    # Between neurons nothing is claimed.
    assert panel.hover_text(panel.view.mapViewToScene(QPointF(hidden.x + 100, hidden.ys[0]))) is None


# ---------------------------------------------------------------- a large MLP on images


def test_image_input_is_an_image_and_large_layers_show_a_labelled_subset(qtbot, mlp):
    from nnviz.qt.panels.network import MAX_UNITS, TOP_LINKS, TOP_PIXEL_LINKS

    panel = make(qtbot, mlp)
    snap = mlp.snaps[-1]
    inp, flat = mlp.ids("Input")[0], mlp.ids("Flatten")[0]
    h, o = mlp.ids("Dense")
    image, hidden, out = panel.columns
    assert image.kind == "image" and image.nodes == [inp, flat]  # Flatten merged: the image stays an image
    panel.set_selected_sample(3)
    np.testing.assert_array_equal(image.image.image, snap.probe_x[3, ..., 0])
    np.testing.assert_array_equal(image.image.image, snap.activations[flat][3].reshape(28, 28))

    act = snap.activations[h][3]
    assert hidden.n == 128 and len(hidden.scatter.data) == MAX_UNITS
    top = np.sort(np.argsort(-np.abs(act))[:MAX_UNITS])
    np.testing.assert_array_equal(hidden.shown, top)  # the most active, in index order
    assert "128 units, 32 most active shown" in hidden.title_item.toPlainText()
    assert np.abs(drawn_rgb(hidden) - expected_rgb(act[top], hidden.level)).max() <= 3

    panel.subset_box.setCurrentIndex(1)
    spread = np.round(np.linspace(0, 127, MAX_UNITS)).astype(int)
    np.testing.assert_array_equal(hidden.shown, spread)
    assert "128 units, 32 evenly spaced shown" in hidden.title_item.toPlainText()
    assert np.abs(drawn_rgb(hidden) - expected_rgb(act[spread], hidden.level)).max() <= 3

    # Pixels into the hidden layer: only the strongest weights into the drawn units, each from its pixel.
    into_hidden, into_out = panel.links
    k = snap.params[h]["kernel"]
    assert len(into_hidden.values) == TOP_PIXEL_LINKS and set(into_hidden.dst_idx) <= set(spread)
    np.testing.assert_array_equal(into_hidden.values, k[into_hidden.src_idx, into_hidden.dst_idx])
    mask = np.ones((784, 128), bool)
    mask[:, np.setdiff1d(np.arange(128), spread)] = False
    mask[into_hidden.src_idx, into_hidden.dst_idx] = False
    assert np.abs(into_hidden.values).min() >= np.abs(k[mask]).max()
    order = np.argsort(np.abs(into_hidden.values), kind="stable")
    assert np.all(np.diff(into_hidden.widths()[order]) >= 0)
    r, c = np.divmod(into_hidden.src_idx, 28)
    pixels = [image.image.mapToParent(QPointF(cc + 0.5, rr + 0.5)) for rr, cc in zip(r, c)]
    x0, y0 = image.anchors(into_hidden.src_idx, +1, "pixel")[:2]
    assert np.allclose(x0, [p.x() for p in pixels]) and np.allclose(y0, [p.y() for p in pixels])
    drawn = np.array(sorted(zip(*curve_starts(into_hidden))))
    assert drawn.shape == (TOP_PIXEL_LINKS, 2) and np.allclose(drawn, sorted(zip(x0, y0)))

    k2 = snap.params[o]["kernel"]
    assert len(into_out.values) == TOP_LINKS and set(into_out.src_idx) <= set(spread)
    np.testing.assert_array_equal(into_out.values, k2[into_out.src_idx, into_out.dst_idx])
    assert np.abs(into_out.values).min() >= np.sort(np.abs(k2[spread]).ravel())[-TOP_LINKS]

    # Hover on the image reads the pixel.
    text = panel.hover_text(image.image.mapToScene(QPointF(5.5, 7.5)))
    assert "pixel (row 7, col 5)" in text and f"{snap.probe_x[3, 7, 5, 0]:.4f}" in text


def test_items_are_bounded_and_reused_across_updates_and_rebuilds(qtbot, mlp):
    from nnviz.qt.panels import DatasetInfo

    panel = make(qtbot, mlp)
    n_items = len(panel.graphics.scene().items())
    assert n_items < 100 < 784 + 128 + 10  # far fewer items than neurons, let alone connections
    for i in range(60):
        panel.show_snapshot(mlp.snaps[i % len(mlp.snaps)])
        if i % 7 == 0:
            panel.set_selected_sample(i % 12)
        if i % 20 == 0:
            panel.subset_box.setCurrentIndex(i % 2)
    assert panel.rebuilds == 1 and len(panel.graphics.scene().items()) == n_items
    for _ in range(3):
        panel.set_context(mlp.network, mlp.analysis, DatasetInfo.from_dataset(mlp.dataset))
        panel.show_snapshot(mlp.snaps[-1])
    assert panel.rebuilds == 4 and len(panel.graphics.scene().items()) == n_items


# ---------------------------------------------------------------- convolution


def test_cnn_shows_maps_as_mosaics_and_aggregated_kernels(qtbot, cnn):
    panel = make(qtbot, cnn)
    snap = cnn.snaps[-1]
    inp = cnn.ids("Input")[0]
    c1, c2 = cnn.ids("Conv2D")
    mp, ap = cnn.ids("MaxPool2D")[0], cnn.ids("AvgPool2D")[0]
    flat, dense = cnn.ids("Flatten")[0], cnn.ids("Dense")[0]
    assert [c.nodes for c in panel.columns] == [[inp], [c1], [mp], [c2], [ap, flat], [dense]]
    assert [c.kind for c in panel.columns] == ["image", "maps", "maps", "maps", "maps", "units"]
    panel.set_selected_sample(4)
    for col in panel.columns[1:5]:
        act = snap.activations[col.head][4]
        for ch in range(act.shape[-1]):
            np.testing.assert_array_equal(col.mosaic.tile(col.image.image, ch), act[..., ch])
        assert col.image.levels.tolist() == [-col.level, col.level]  # diverging, centred on 0
    assert "4 maps 12×12" in panel.columns[1].title_item.toPlainText()

    links = {(lk.src.head, lk.dst.head): lk for lk in panel.links}
    for s, d in [(inp, c1), (mp, c2)]:
        link = links[(s, d)]
        assert link.kind == "conv"
        summed = snap.params[d]["kernel"].sum(axis=(0, 1))
        assert len(link.values) == summed.size  # one line per (input map, output map)
        np.testing.assert_allclose(link.values, summed[link.src_idx, link.dst_idx], rtol=1e-6)
        order = np.argsort(np.abs(link.values), kind="stable")
        assert np.all(np.diff(link.widths()[order]) >= 0)
    pool = links[(c1, mp)]
    assert pool.kind == "identity"
    np.testing.assert_array_equal(pool.src_idx, np.arange(4))
    np.testing.assert_array_equal(pool.dst_idx, np.arange(4))
    to_dense = links[(ap, dense)]
    k = snap.params[dense]["kernel"]
    assert to_dense.kind == "dense" and len(to_dense.values) == k.size  # 3·3·3·2 = 54: all drawn
    np.testing.assert_array_equal(to_dense.values, k[to_dense.src_idx, to_dense.dst_idx])
    # Each line leaves the pixel of the map it reads: flat index (row, col, channel) of the 3×3×3 output.
    pool_col = panel.columns[4]
    r, c, ch = np.unravel_index(to_dense.src_idx, (3, 3, 3))
    for i in range(len(r)):
        ty, tx = pool_col.mosaic.origin(int(ch[i]))
        p = pool_col.image.mapToParent(QPointF(tx + c[i] + 0.5, ty + r[i] + 0.5))
        x, y, _ = pool_col.anchors(np.array([to_dense.src_idx[i]]), +1, "pixel")
        assert (x[0], y[0]) == pytest.approx((p.x(), p.y()))
    row, col = pool_col.mosaic.origin(2)
    assert "map 2 at (row 0, col 0)" in pool_col.describe_cell(row, col)


# ---------------------------------------------------------------- branches and pass-through nodes


def test_branches_merges_and_pass_through_nodes(qtbot, branches):
    panel = make(qtbot, branches)
    snap = branches.snaps[-1]
    net = branches.network
    by_type = {t: branches.ids(t)[0] for t in ("Input", "Dropout", "Activation", "Add", "Concatenate")}
    d1, d2, d3 = branches.ids("Dense")
    cols = {c.head: c for c in panel.columns}
    # d1 feeds both the Dropout and the Add, so the Dropout keeps its own column; the Activation is d2's only
    # consumer and is merged into it: that column shows the values after tanh.
    assert by_type["Dropout"] in cols and cols[d2].nodes == [d2, by_type["Activation"]]
    np.testing.assert_array_equal(cols[d2].values, snap.activations[by_type["Activation"]][0])
    assert "tanh" in cols[d2].title_item.toPlainText()
    depth = {h: c.depth for h, c in cols.items()}
    assert (
        depth[d1]
        < depth[by_type["Dropout"]]
        < depth[d2]
        < depth[by_type["Add"]]
        < depth[by_type["Concatenate"]]
    )

    links = {(lk.src.head, lk.dst.head): lk for lk in panel.links}
    add = by_type["Add"]
    for src in (d1, d2):
        link = links[(src, add)]
        assert link.kind == "identity"
        np.testing.assert_array_equal(link.src_idx, np.arange(5))
        np.testing.assert_array_equal(link.dst_idx, np.arange(5))
    # d1 -> Add jumps over two columns: its curves arc above every neuron instead of running through them.
    skip = links[(d1, add)]
    assert skip.lift is not None and links[(d2, add)].lift is None
    _, y = skip.items[(0, 0)].getData()
    assert np.nanmin(y) < min(c.top() for c in panel.columns)
    # Concatenate: the Add's units first, then the input's two features.
    cat = by_type["Concatenate"]
    inp_link = links[(by_type["Input"], cat)]
    np.testing.assert_array_equal(inp_link.src_idx, [0, 1])
    np.testing.assert_array_equal(inp_link.dst_idx, [5, 6])
    np.testing.assert_array_equal(links[(add, cat)].dst_idx, np.arange(5))
    np.testing.assert_array_equal(cols[cat].values, snap.activations[cat][0])
    assert links[(cat, d3)].kind == "dense" and len(links[(cat, d3)].values) == 7 * 2
    assert net.nodes[branches.ids("Output")[0]].id not in {c.head for c in panel.columns}


# ---------------------------------------------------------------- states: empty, export, dark


def test_without_a_snapshot_the_panel_says_what_will_appear(qtbot, xor):
    panel = make(qtbot, xor, snapshot=False)
    assert panel.columns == [] and panel.view is None
    labels = [i for i in panel.layout_.items if hasattr(i, "text")]
    assert any("once training starts" in i.text for i in labels)
    panel.set_selected_sample(3)  # no snapshot: nothing to redraw, nothing breaks
    panel.show_snapshot(xor.snaps[0])
    assert len(panel.columns) == 3
    panel.clear()
    assert panel.columns == [] and any(
        "once training starts" in i.text for i in panel.layout_.items if hasattr(i, "text")
    )


def test_export_png_and_svg(qtbot, tmp_path, cnn):
    panel = make(qtbot, cnn)
    panel.show()
    qtbot.waitExposed(panel)
    png = panel.export(tmp_path / "net.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    svg = panel.export(tmp_path / "net.svg")
    assert b"<svg" in svg.read_bytes()[:2000]


def test_dark_background_gets_light_ink(qtbot, xor):
    from nnviz.qt.panels import DatasetInfo, NetworkPanel

    panel = NetworkPanel()
    qtbot.addWidget(panel)
    panel.graphics.setBackground("#1e1e1e")
    panel.set_context(xor.network, xor.analysis, DatasetInfo.from_dataset(xor.dataset))
    panel.show_snapshot(xor.snaps[-1])
    from PySide6.QtGui import QColor

    assert QColor(panel.ink).lightnessF() > 0.7 and QColor(panel.muted).lightnessF() > 0.5
    assert panel.columns[-1].labels[0].color.lightnessF() > 0.7


def test_a_dark_theme_recolours_titles_and_labels(qtbot, xor):
    """With the palette themes: the panel's own text follows the theme, the data keeps its colours."""
    from PySide6.QtGui import QColor, QPalette

    from nnviz.qt.panels.drawing.theme import Theme

    panel = make(qtbot, xor)
    blue_before = drawn_rgb(panel.columns[1])
    pal = QPalette()
    pal.setColor(QPalette.ColorRole.Base, QColor("#1f2227"))
    pal.setColor(QPalette.ColorRole.Text, QColor("#e6e6e6"))
    panel.apply_theme(Theme.from_palette(pal))
    assert panel.ink == "#e6e6e6"
    for col in panel.columns:
        assert col.title_item.color.name() == "#e6e6e6"
    assert all(t.color.name() == "#e6e6e6" for t in panel.columns[-1].labels)
    assert "#e6e6e6" in panel.header.opts["color"] or panel.header.opts["color"] == "#e6e6e6"
    np.testing.assert_array_equal(drawn_rgb(panel.columns[1]), blue_before)
    panel.show_snapshot(xor.snaps[0])  # new values after the theme change: still the diverging colours
    act = xor.snaps[0].activations[panel.columns[1].tail][0]
    assert np.abs(drawn_rgb(panel.columns[1]) - expected_rgb(act, panel.columns[1].level)).max() <= 3
