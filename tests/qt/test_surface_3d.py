"""The 3D loss surface with a real OpenGL context: under Xvfb with Mesa when the machine has them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import sys, time
import numpy as np
from PySide6.QtWidgets import QApplication
app = QApplication([])
from nnviz.qt.panels.surface import SurfacePanel, gl_available
from nnviz.engine.surface import PathOnPlane, Surface
if not gl_available():
    print("NO-GL"); sys.exit(0)
a = np.linspace(-1, 1, 21); b = np.linspace(-1, 1, 17)
loss = (b[:, None] ** 2 + 0.5 * a[None, :] ** 2).astype(np.float64)
path = PathOnPlane("path", np.arange(5), np.stack([np.linspace(-0.8, 0, 5), np.linspace(0.7, 0, 5)], 1),
                   np.linspace(0.8, 0.0, 5), np.zeros(5))
s = Surface("pca", a, b, loss, (path,), (0.9, 0.1), 0.0)
p = SurfacePanel(); p.resize(700, 500); p.show()
p.set_surface(s)
assert p.view3d_box.isEnabled()
p.view3d_box.setChecked(True)
frames = []
p.view3d.frameSwapped.connect(lambda: frames.append(1))
p.view3d.update()
end = time.monotonic() + 60
while not frames:  # on screen once, its items in (what the framebuffer grab below reads)
    if time.monotonic() > end:
        print("NO-FRAME"); sys.exit(3)
    app.processEvents(); time.sleep(0.01)
img = p.view3d.grabFramebuffer()
arr = np.array([[img.pixelColor(x, y).value() for x in range(0, img.width(), 7)] for y in range(0, img.height(), 7)])
print("GL-OK", p.gl_ok, sorted(p._gl_items), int((arr < 200).sum()))
"""


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs Xvfb (apt-get install xvfb)")
def test_the_3d_view_draws_the_surface_and_the_path_with_real_opengl(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env.update(QT_QPA_PLATFORM="xcb", JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))
    script = tmp_path / "gl3d.py"
    script.write_text(SCRIPT)
    run = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24", sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    out = run.stdout + run.stderr
    if "NO-GL" in out or "could not connect to display" in out or "xcb" in out and run.returncode:
        pytest.skip(f"no OpenGL under Xvfb here: {out[-300:]}")
    assert run.returncode == 0, out[-2000:]
    assert "Error while drawing item" not in out, out[-2000:]
    line = next(ln for ln in out.splitlines() if ln.startswith("GL-OK"))
    _, ok, *rest = line.split(" ", 2)
    assert ok == "True" and "'surface'" in line and "'line0'" in line and "'ball0'" in line
    assert int(line.rsplit(" ", 1)[1]) > 50  # the surface was really drawn: many non-white pixels
