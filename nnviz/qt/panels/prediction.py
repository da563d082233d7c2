"""One sample and what the network thinks it is, with a gallery of the probe samples to pick another."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPen, QColor
from PySide6.QtWidgets import QGraphicsRectItem

from .base import BLUE, INK, MUTED, Mosaic, Panel, class_color, gray_cmap, image_view, style_plot

RIGHT = (46, 160, 67)
WRONG = (214, 39, 40)
FRAME = 2


class PredictionPanel(Panel):
    """The selected probe sample, its class probabilities as bars, and a clickable gallery of the probe batch."""

    title = "Prediction"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.bars = None
        self.graphics.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)

    def _architecture_key(self, snapshot):
        return (id(self.info), snapshot.probe_x.shape, snapshot.probabilities.shape)

    def _rebuild(self, snapshot) -> None:
        lay = self.layout_
        self._gallery_key = None
        self.bar_brushes = (pg.mkBrush(*RIGHT), pg.mkBrush(*WRONG), pg.mkBrush(150, 156, 166))
        self.verdict_pens = {True: pg.mkPen(*RIGHT, width=2), False: pg.mkPen(*WRONG, width=2)}
        self.class_brushes = [pg.mkBrush(*class_color(k)) for k in range(snapshot.probabilities.shape[1])]
        x = snapshot.probe_x
        k = snapshot.probabilities.shape[1]
        self.is_image = x.ndim == 4
        self.heading = lay.addLabel("", row=0, col=0, colspan=2, color=INK, size="13pt")
        if self.is_image:
            self.sample_view, self.sample_image = image_view(lay, row=1, col=0)
            self.sample_view.setMinimumWidth(180)
            self.sample_image.setColorMap(gray_cmap())
            self.add_hover(self.sample_image, self._describe_pixel)
        else:  # 2D points: the probe batch itself is the gallery; click a point to select it
            self.sample_plot = pg.PlotItem()
            style_plot(self.sample_plot, "Probe points (click one)", "x₁", "x₂")
            self.sample_plot.setAspectLocked(True)
            self.sample_plot.setMenuEnabled(False)
            self.gallery = pg.ScatterPlotItem(size=11)
            self.gallery.sigClicked.connect(self._on_gallery_clicked)
            self.sample_plot.addItem(self.gallery)
            self.sample_dot = pg.ScatterPlotItem(size=22, brush=pg.mkBrush(None), pen=pg.mkPen(INK, width=2.5))
            self.sample_plot.addItem(self.sample_dot)
            lay.addItem(self.sample_plot, row=1, col=0)
        self.bar_plot = pg.PlotItem()
        style_plot(self.bar_plot, None, "probability", None)
        self.bar_plot.setMenuEnabled(False)
        self.bar_plot.setMouseEnabled(False, False)
        self.bar_plot.invertY(True)
        self.bar_plot.setXRange(0, 1, padding=0.02)
        self.bar_plot.setYRange(-0.6, max(k, 5) - 0.4, padding=0)  # few classes: bars stay slim
        left = self.bar_plot.getAxis("left")
        left.setTicks([[(i, self.class_name(i)) for i in range(k)]])
        left.setStyle(hideOverlappingLabels=False)
        left.setWidth(int(12 + 8 * max(len(self.class_name(i)) for i in range(k))))
        self.bar_plot.showGrid(x=True, alpha=0.15)
        self.bars = pg.BarGraphItem(x0=np.zeros(k), y=np.arange(k, dtype=float), height=0.7, width=np.zeros(k),
                                    brushes=[pg.mkBrush(MUTED)] * k, pens=[pg.mkPen(None)] * k)
        self.bar_plot.addItem(self.bars)
        self.bar_labels = []
        for i in range(k):
            t = pg.TextItem(color=INK, anchor=(0, 0.5))
            t.setPos(0, i)
            self.bar_plot.addItem(t, ignoreBounds=True)
            self.bar_labels.append(t)
        lay.addItem(self.bar_plot, row=1, col=1)
        lay.layout.setColumnStretchFactor(1, 2)

        n = len(snapshot.probe_y)
        if self.is_image:
            lay.addLabel("Probe samples (click to select; frame: green right, red wrong)",
                         row=2, col=0, colspan=2, color=MUTED, size="10pt")
            h, w = x.shape[1] + 2 * FRAME, x.shape[2] + 2 * FRAME
            self.gallery_mosaic = Mosaic(n, h, w, cols=min(n, 16), pad=2)
            self.gallery_view, self.gallery = image_view(lay, row=3, col=0, colspan=2)
            self.gallery_tiles = np.empty((n, h, w, 3), np.uint8)
            self.add_hover(self.gallery, self._describe_gallery)
        self.marker = QGraphicsRectItem()
        pen = QPen(QColor(*BLUE))
        pen.setWidthF(2.5)
        pen.setCosmetic(True)
        self.marker.setPen(pen)
        if self.is_image:
            self.marker.setParentItem(self.gallery)
        if self.is_image:
            lay.layout.setRowStretchFactor(1, 3)
            lay.layout.setRowStretchFactor(3, 2)

    def _update(self, snapshot) -> None:
        s = self.selected_sample
        probs = snapshot.probabilities
        p = probs[s]
        truth = int(snapshot.probe_y[s])
        guess = int(np.argmax(p))
        k = len(p)
        self.bars.setOpts(width=p, brushes=[self.bar_brushes[0 if i == truth else (1 if i == guess else 2)]
                                            for i in range(k)])
        for i, t in enumerate(self.bar_labels):
            t.setText(f"{p[i]:.1%}")
            t.setPos(min(float(p[i]), 0.82) + 0.01, i)
        verdict = "right" if guess == truth else "wrong"
        color = "#2ea043" if guess == truth else "#d62728"
        self.heading.setText(f"sample {s}: true <b>{self.class_name(truth)}</b>, predicted "
                             f"<b>{self.class_name(guess)}</b> ({p[guess]:.0%}) "
                             f"<span style='color:{color}'>{verdict}</span>")
        x = snapshot.probe_x
        ok = np.argmax(probs, axis=1) == snapshot.probe_y
        # The gallery only changes when a verdict (right / wrong) does, or the selection.
        gallery_key = (ok.tobytes(), s, id(x))
        redraw = gallery_key != self._gallery_key
        self._gallery_key = gallery_key
        if not redraw:
            return
        if self.is_image:
            img = x[s]
            self.sample_image.setImage(img[..., 0] if img.shape[-1] == 1 else img, levels=(0.0, 1.0),
                                       autoLevels=False)
            gray = (np.clip(x.mean(axis=3), 0, 1) * 255).astype(np.uint8)
            tiles = self.gallery_tiles
            tiles[:] = np.where(ok, 1, 0)[:, None, None, None] * np.array(RIGHT, np.uint8) + \
                np.where(ok, 0, 1)[:, None, None, None] * np.array(WRONG, np.uint8)
            tiles[:, FRAME:-FRAME, FRAME:-FRAME, :] = gray[..., None]
            self.gallery.setImage(self.gallery_mosaic.compose(tiles), levels=(0, 255), autoLevels=False)
            y0, x0 = self.gallery_mosaic.origin(s)
            self.marker.setRect(QRectF(x0 - 1, y0 - 1, self.gallery_mosaic.w + 2, self.gallery_mosaic.h + 2))
        else:
            self.sample_dot.setData([x[s, 0]], [x[s, 1]])
            brushes = [self.class_brushes[int(c)] for c in snapshot.probe_y]
            pens = [self.verdict_pens[bool(good)] for good in ok]
            self.gallery.setData(x[:, 0], x[:, 1], brush=brushes, pen=pens, data=np.arange(len(x)))

    # ------------------------------------------------------------ picking

    def sample_at(self, scene_pos) -> int | None:
        """The probe sample under a scene position in the gallery, if any."""
        if not self.is_image or self.snapshot is None:
            return None
        p = self.gallery.mapFromScene(scene_pos)
        hit = self.gallery_mosaic.locate(int(np.floor(p.y())), int(np.floor(p.x())))
        return None if hit is None else hit[0]

    def _on_scene_mouse_clicked(self, event) -> None:
        if self.bars is None or event.button() != Qt.MouseButton.LeftButton:
            return
        i = self.sample_at(event.scenePos())
        if i is not None:
            self.set_selected_sample(i)

    def _on_gallery_clicked(self, item, points, ev=None) -> None:
        if len(points):
            self.set_selected_sample(int(points[0].data()))

    # ------------------------------------------------------------ hover

    def _describe_pixel(self, r, c):
        v = self.sample_image.image[r, c]
        return f"pixel (row {r}, col {c}) = {np.round(v, 3)}"

    def _describe_gallery(self, r, c):
        hit = self.gallery_mosaic.locate(r, c)
        if hit is None or self.snapshot is None:
            return None
        i = hit[0]
        p = self.snapshot.probabilities[i]
        g = int(np.argmax(p))
        return (f"sample {i}: true {self.class_name(int(self.snapshot.probe_y[i]))}, predicted "
                f"{self.class_name(g)} ({p[g]:.0%}) — click to select")
