"""SurfacePanel: draws exactly the surface and paths it is given, 2D when OpenGL is missing."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from nnviz.engine.options import SessionOptions
from nnviz.engine.surface import PathOnPlane, Surface


def _bowl(n=21, paths=None, method="pca"):
    a = np.linspace(-2, 1, n, dtype=np.float32)
    b = np.linspace(-1, 1.5, n - 4, dtype=np.float32)
    loss = 0.1 + (a[None, :] - 0.2) ** 2 + 2 * (b[:, None] + 0.1) ** 2
    if paths is None:
        t = np.linspace(0, 1, 30)
        xy = np.stack([-1.8 * (1 - t), 1.2 * (1 - t) ** 2], axis=1)
        paths = (
            PathOnPlane("path", np.arange(30) * 10, xy, 0.1 + np.sum(xy**2, axis=1), np.linspace(0.3, 0, 30)),
        )
    return Surface(
        method,
        a,
        b,
        loss,
        tuple(paths),
        (0.9, 0.06),
        0.1,
        ("PCA direction 1", "PCA direction 2"),
        "Loss around the trained weights",
        1.0,
        100,
        50,
    )


@pytest.fixture
def panel(qtbot):
    from nnviz.qt.panels.surface import SurfacePanel

    p = SurfacePanel()
    qtbot.addWidget(p)
    p.resize(800, 600)
    return p


def test_the_panel_draws_the_path_and_puts_the_ball_at_its_end(panel):
    surface = _bowl()
    panel.set_surface(surface)
    path = surface.paths[0]
    x, y = panel.path_items["path"].getData()
    np.testing.assert_allclose(x, path.xy[:, 0])
    np.testing.assert_allclose(y, path.xy[:, 1])
    ball = panel.ball_items["path"].getData()
    assert (ball[0][0], ball[1][0]) == pytest.approx(tuple(path.xy[-1]))
    start = panel.start_items["path"].getData()
    assert (start[0][0], start[1][0]) == pytest.approx(tuple(path.xy[0]))
    shown = panel.image.image
    assert shown.shape == (
        (len(surface.b) - 1) * panel.upsample + 1,
        (len(surface.a) - 1) * panel.upsample + 1,
    )
    np.testing.assert_allclose(shown[:: panel.upsample, :: panel.upsample], surface.loss, rtol=1e-5)
    rect = panel.image.mapRectToParent(panel.image.boundingRect())
    assert rect.left() < surface.a[0] < surface.a[-1] < rect.right()
    assert rect.top() < surface.b[0] < surface.b[-1] < rect.bottom()
    title = panel.plot.titleLabel.text
    assert "90% + 6%" in title and "off the plane" in title and "0.3" in title
    assert sum(iso.data is not None for iso in panel.contours) > 5


def test_the_step_slider_and_a_live_point_move_the_ball(panel):
    surface = _bowl()
    panel.set_surface(surface)
    assert panel.step_slider.isEnabled() and panel.step_slider.maximum() == 29
    panel.step_slider.setValue(3)
    bx, by = panel.ball_items["path"].getData()
    assert (bx[0], by[0]) == pytest.approx(tuple(surface.paths[0].xy[3]))
    assert panel.step_label.text() == "step 30"
    panel.show_point([0.25, -0.5], loss=0.42, off_plane=1.5, step=999)
    bx, by = panel.ball_items["path"].getData()
    assert (bx[0], by[0]) == pytest.approx((0.25, -0.5))
    assert "the ball 1.5" in panel.plot.titleLabel.text and panel.step_label.text() == "step 999"


def test_race_legend_has_one_colour_and_loss_per_optimizer(panel):
    from nnviz.qt.panels.surface import optimizer_color

    t = np.linspace(0, 1, 10)
    paths = [
        PathOnPlane(
            name,
            np.arange(10),
            np.stack([t * k / 3, -t * k / 4], axis=1),
            1 - 0.1 * k * t,
            np.zeros(10),
            diverged=(name == "sgd"),
        )
        for k, name in enumerate(["sgd", "momentum", "adam"], start=1)
    ]
    panel.set_surface(_bowl(paths=paths, method="race"))
    labels = [label.text for _, label in panel.legend.items]
    assert len(labels) == 3
    assert labels[0].startswith("SGD: loss 0.9") and "diverged" in labels[0]
    assert labels[2].startswith("Adam: loss 0.7")
    pens = {name: item.opts["pen"].color().getRgb()[:3] for name, item in panel.path_items.items()}
    assert pens == {name: optimizer_color(name) for name in ("sgd", "momentum", "adam")}
    for p in paths:
        np.testing.assert_allclose(panel.path_items[p.name].getData()[0], p.xy[:, 0])


def test_a_line_is_a_curve_with_the_paths_true_losses(panel):
    a = np.linspace(-0.25, 1.25, 13, dtype=np.float32)
    curve = 1 - a + a**2
    path = PathOnPlane(
        "path",
        np.arange(5),
        np.linspace(0, 1, 5)[:, None],
        np.array([1, 0.7, 0.5, 0.45, 0.4]),
        np.array([0, 0.2, 0.3, 0.1, 0]),
    )
    panel.set_surface(Surface("line", a, np.zeros(0, np.float32), curve, (path,), title="Line"))
    x, y = panel.line_curve.getData()
    np.testing.assert_allclose(x, a)
    np.testing.assert_allclose(y, curve)
    px, py = panel.path_items["path"].getData()
    np.testing.assert_allclose(px, path.xy[:, 0])
    np.testing.assert_allclose(py, path.loss)
    assert "off the line" in panel.line_plot.titleLabel.text
    panel.set_log_scale(True)
    np.testing.assert_allclose(panel.line_curve.getData()[1], np.log10(curve), rtol=1e-6)


def test_log_scale_colours_log_loss(panel):
    surface = _bowl()
    panel.set_surface(surface)
    panel.set_log_scale(True)
    shown = panel.image.image[:: panel.upsample, :: panel.upsample]
    np.testing.assert_allclose(shown, np.log10(surface.loss), rtol=1e-5)
    assert panel.colorbar.levels()[0] == pytest.approx(float(np.log10(surface.loss.min())), rel=1e-5)


def test_without_opengl_the_3d_switch_is_off_and_2d_stays(panel):
    from nnviz.qt.panels.surface import gl_available

    assert not gl_available()  # offscreen: no GL context
    assert not panel.view3d_box.isEnabled() and "OpenGL" in panel.view3d_box.toolTip()
    panel.set_surface(_bowl())
    panel._on_view3d_box_toggled(True)  # as if a click got through: falls back cleanly
    assert panel.view3d is None and not panel.view3d_box.isChecked() and not panel.graphics.isHidden()


def test_hover_reads_the_loss_and_clear_forgets(panel):
    surface = _bowl()
    panel.set_surface(surface)
    text = panel._describe_pixel(2 * panel.upsample, 3 * panel.upsample)
    assert f"loss {surface.loss[2, 3]:.4f}" in text and "PCA direction 1" in text
    panel.set_surface(None)
    assert panel.image.image is None and not panel.path_items and not panel.step_slider.isEnabled()
    assert "no surface" in panel.plot.titleLabel.text
    panel.set_surface(surface)
    panel.set_context(None, None, None)  # another network: its surface is gone
    assert panel.surface is None and not panel.path_items


def test_the_panel_exports_a_picture(panel, tmp_path, qtbot):
    panel.set_surface(_bowl())
    panel.show()
    qtbot.waitExposed(panel)
    path = panel.export(tmp_path / "surface.png")
    assert path.stat().st_size > 5000
    keep = os.environ.get("NNVIZ_SURFACE_PNG_DIR")  # look at it: NNVIZ_SURFACE_PNG_DIR=/tmp pytest ...
    if keep:
        panel.export(os.path.join(keep, "surface-panel-bowl.png"))
        panel.set_log_scale(True)
        panel.export(os.path.join(keep, "surface-panel-bowl-log.png"))
    assert math.isfinite(panel.surface.loss.max())
    panel.close()


def test_a_real_descent_reaches_the_panel(panel):
    """From a training session's Snapshots to the drawn path, with no JAX on the panel's side."""
    from nnviz.core.presets import load_preset
    from nnviz.engine.session import TrainingSession
    from nnviz.engine.surface import LossLandscape, TrajectoryRecorder, trajectory_surface

    project = load_preset("xor-one-hidden").with_training(epochs=1)
    recorder = TrajectoryRecorder()
    session = TrainingSession(
        project, SessionOptions(snapshot_interval=0.0, max_chunk=1, download=False), on_message=recorder
    )
    session.run()
    trajectory = recorder.trajectory()
    landscape = LossLandscape.from_project(project, session.dataset, samples=50)
    surface = trajectory_surface(landscape, trajectory, resolution=6)
    panel.set_surface(surface)
    x, y = panel.path_items["path"].getData()
    np.testing.assert_allclose(np.stack([x, y], axis=1), surface.paths[0].xy)
    assert len(x) == len(trajectory) and panel.step_slider.maximum() == len(trajectory) - 1
    xy, off = surface.locate(trajectory.thetas[len(trajectory) // 2])
    np.testing.assert_allclose(xy, surface.paths[0].xy[len(trajectory) // 2], atol=1e-4)
    assert off == pytest.approx(surface.paths[0].off_plane[len(trajectory) // 2], abs=1e-4)
