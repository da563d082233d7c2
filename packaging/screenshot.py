"""Render nnviz's main window with a preset loaded to a PNG, offscreen.

    python packaging/screenshot.py --preset mnist-cnn --out docs/screenshot.png
    python packaging/screenshot.py --preset xor-one-hidden --train 3 --out /tmp/xor.png
    python packaging/screenshot.py --preset spiral-playground --steps 1500 --out /tmp/spiral.png

``--select`` names the node shown in the inspector (default: the first layer with
settings; ``none`` for the network totals). ``--train SECONDS`` trains first, so the
status bar shows live metrics (MNIST needs ``--data-dir`` or the cache folder);
``--steps N`` trains until step N instead (at most ``--train`` seconds, default 120), so
the training panels below the diagram show the run mid-way.
``--dark`` renders with the dark palette. ``--panel KEY`` brings a training panel to the
front of its tab group (network, prediction, weights, activations, gradients, conv, ...);
``--scrub INDEX`` shows that snapshot of the timeline instead of the newest.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="mnist-cnn")
    p.add_argument("--out", default="docs/screenshot.png")
    p.add_argument("--size", default="1500x950", help="WIDTHxHEIGHT of the window")
    p.add_argument("--select", default="", help="node name to select ('none': nothing)")
    p.add_argument("--train", type=float, default=0.0, metavar="SECONDS")
    p.add_argument("--steps", type=int, default=0, help="train until this step, then pause")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--dark", action="store_true")
    p.add_argument("--panel", default="", help="training panel to bring to the front")
    p.add_argument("--scrub", type=int, default=None, help="timeline index to show")
    p.add_argument("--surface", default="", help="compute this loss surface (pca, random, line, race, exact)")
    args = p.parse_args()

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from nnviz.core.layers import Role
    from nnviz.core.presets import load_preset
    from nnviz.qt.app import dark_palette, make_application
    from nnviz.qt.document import ProjectDocument
    from nnviz.qt.main_window import MainWindow

    app = make_application("nnviz")
    if args.dark:
        app.setPalette(dark_palette())
    tmp = tempfile.mkdtemp(prefix="nnviz-shot-")
    settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)  # no user state
    w = MainWindow(
        ProjectDocument(load_preset(args.preset)), settings=settings, autosave_dir=tmp, data_dir=args.data_dir
    )
    width, height = (int(v) for v in args.size.lower().split("x"))
    w.resize(width, height)
    w.show()

    def pump(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.01)

    pump(0.3)
    w.editor.fit_to_view()
    nodes = list(w.document.network.nodes.values())
    if args.select.lower() != "none":
        chosen = (
            next((n for n in nodes if n.name == args.select), None)
            if args.select
            else next((n for n in nodes if n.layer.params and n.role is not Role.OUTPUT), None)
        )
        if chosen is not None:
            w.editor.select_nodes([chosen.id])
    if args.steps > 0:
        w.train()
        end = time.perf_counter() + (args.train or 120.0)
        while (
            time.perf_counter() < end
            and w.bridge.active
            and (w.bridge.last_progress is None or w.bridge.last_progress.step < args.steps)
        ):
            pump(0.02)
        w.pause()
        pump(0.5)
    elif args.train > 0:
        w.train()
        pump(args.train)
        w.pause()
        pump(0.5)
    if args.panel:
        if args.panel not in w.visuals.docks:
            print(f"no panel {args.panel!r}; panels: {', '.join(w.visuals.docks)}", file=sys.stderr)
            return 2
        w.visuals.docks[args.panel].raise_()
    if args.surface:
        ctl = w.visuals.surface
        ctl.set_method(args.surface)
        if ctl.compute():
            end = time.perf_counter() + 300
            while ctl.busy and time.perf_counter() < end:
                pump(0.05)
            pump(0.2)
        print(
            f"surface: {ctl.message.text()}; history {len(w.visuals.history)} snapshots, "
            f"path of {len(ctl.surface.paths[0].steps) if ctl.surface is not None and ctl.surface.paths else 0}"
        )
    if args.scrub is not None:
        w.visuals.scrub_to(args.scrub)
    pump(0.3)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not w.grab().save(str(out)):
        print(f"could not write {out}", file=sys.stderr)
        return 1
    print(f"wrote {out} ({width}x{height})")
    w.document.undo_stack.setClean()
    w.close()
    QApplication.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
