"""One sample and what the network thinks it is, a gallery of the probe samples to pick another, and
at each epoch's end the test set's confusion matrix and its most confidently wrong samples."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPen, QTextOption
from PySide6.QtWidgets import QGraphicsRectItem, QPushButton

from nnviz.engine.messages import EpochEnd, EvalReport

from .description import PanelDescription
from .drawing.colors import BLUE, INK, MUTED, class_color, gray_cmap
from .drawing.mosaic import Mosaic
from .drawing.plots import add_label, image_view, style_plot
from .panel import Panel

RIGHT = (46, 160, 67)
WRONG = (214, 39, 40)
FRAME = 2
REPORT_TILES = 16  # as many as an EvalReport carries at most
REPORT_COLS = 8
WRONG_ROW_HEIGHT = 250  # pixels for the two rows of wrong samples and their captions
CAPTION_WIDTH = 90  # screen pixels; captions are centred under their tile
CELL_TEXT_MAX_CLASSES = 12  # more classes: counts only on hover
SHORT_NAME = 6  # class names up to this long go on the confusion matrix's bottom axis


def confusion_cmap() -> pg.ColorMap:
    """White to deep blue, steep at the low end so that a handful of confusions already shows.

    Levels are (0, largest cell): the diagonal is dark, and an off-diagonal cell with 2 % of
    its height is already a visible tint.
    """
    return pg.ColorMap(
        [0.0, 0.02, 0.15, 0.5, 1.0],
        [(255, 255, 255), (222, 235, 247), (140, 190, 225), (49, 130, 189), (8, 48, 107)],
    )


class PredictionPanel(Panel):
    """The selected probe sample, its class probabilities as bars, and a clickable gallery of the probe batch."""

    description = PanelDescription(
        "prediction", "Prediction", "The selected sample and its class probabilities"
    )
    scrolls = True  # the test-set report sits below the sample and the gallery

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.bars = None
        self.report: EvalReport | None = None  # the newest epoch-end report
        self.confusion_image = None
        self.graphics.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)
        # The report sits below the fold in a normal dock: a button takes the view there and back.
        self.report_button = QPushButton("Test set report ↓")
        self.report_button.setObjectName("reportButton")
        self.report_button.setToolTip(
            "After each epoch: the test set's confusion matrix and the samples "
            "the network gets wrong most confidently"
        )
        self.report_button.setCheckable(True)
        self.report_button.toggled.connect(self._on_report_button_toggled)
        self.controls.addStretch(1)
        self.controls.addWidget(self.report_button)

    def _on_report_button_toggled(self, down: bool) -> None:
        bar = self._scroll.verticalScrollBar()
        if down:
            y = bar.maximum()
            heading = getattr(self, "report_heading", None)
            if heading is not None and self.confusion_image is not None:  # built for this network
                y = int(self.graphics.mapFromScene(heading.scenePos()).y()) - 6
            bar.setValue(min(bar.maximum(), max(0, y)))
        else:
            bar.setValue(0)
        self.report_button.setText("Sample and gallery ↑" if down else "Test set report ↓")

    def _context_changed(self) -> None:
        self.report = None  # a new network, dataset or run: the old report says nothing about it
        # The items are about to be retired (deleted by Qt); a report arriving before the
        # next snapshot rebuilds them must not draw into the old ones.
        self.bars = None
        self.confusion_image = None

    def add_metrics(self, message) -> None:
        """An EpochEnd carrying an EvalReport updates the confusion matrix and the wrong samples."""
        report = getattr(message, "report", None) if isinstance(message, EpochEnd) else message
        if not isinstance(report, EvalReport):
            return
        self.report = report
        if self.confusion_image is not None:
            self._show_report()

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
        self.heading = add_label(lay, "", row=0, col=0, colspan=2, color=INK, size="13pt")
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
            self.sample_dot = pg.ScatterPlotItem(
                size=22, brush=pg.mkBrush(None), pen=pg.mkPen(INK, width=2.5)
            )
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
        self.bars = pg.BarGraphItem(
            x0=np.zeros(k),
            y=np.arange(k, dtype=float),
            height=0.7,
            width=np.zeros(k),
            brushes=[pg.mkBrush(MUTED)] * k,
            pens=[pg.mkPen(None)] * k,
        )
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
            add_label(
                lay,
                "Probe samples (click to select; frame: green right, red wrong)",
                row=2,
                col=0,
                colspan=2,
                color=MUTED,
                size="10pt",
            )
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
        self._build_report(snapshot, row=4 if self.is_image else 2)

    def _build_report(self, snapshot, row: int) -> None:
        """Test-set report rows: the confusion matrix beside how to read it, then the wrong samples."""
        lay = self.layout_
        k = snapshot.probabilities.shape[1]
        self.n_classes = k
        self.report_heading = add_label(lay, "", row=row, col=0, colspan=2, color=INK, size="11pt")
        inner = lay.addLayout(row=row + 1, col=0, colspan=2)
        inner.setContentsMargins(0, 0, 0, 0)
        if self.is_image:
            lay.layout.setRowStretchFactor(row + 1, 4)
        else:  # the plane of probe points above deserves as much room as the report
            lay.layout.setRowStretchFactor(1, 1)
            lay.layout.setRowStretchFactor(row + 1, 1)

        plot = self.confusion_plot = pg.PlotItem()
        style_plot(plot, None, "predicted class", "true class")
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        plot.invertY(True)  # true class 0 in the top row, as the matrix is printed
        plot.setAspectLocked(True)
        self.confusion_image = pg.ImageItem(axisOrder="row-major")
        self.confusion_image.setColorMap(confusion_cmap())
        plot.addItem(self.confusion_image)
        plot.setXRange(0, k, padding=0.01)
        plot.setYRange(0, k, padding=0.01)
        names = [self.class_name(i) for i in range(k)]
        short = max(len(n) for n in names) <= SHORT_NAME
        left, bottom = plot.getAxis("left"), plot.getAxis("bottom")
        # Long names do not fit under the columns: there the columns are numbered, and
        # the rows say which number is which class.
        left.setTicks(
            [[(i + 0.5, n if short or n == str(i) else f"{n} {i}") for i, n in enumerate(names)], []]
        )
        bottom.setTicks([[(i + 0.5, n if short else str(i)) for i, n in enumerate(names)], []])
        for axis in (left, bottom):
            axis.setStyle(hideOverlappingLabels=False, tickLength=0)
        self.cell_texts = []
        if k <= CELL_TEXT_MAX_CLASSES:
            font = QFont()
            font.setPointSize(7 if k > 6 else 9)
            for r in range(k):
                for c in range(k):
                    t = pg.TextItem("", color=INK, anchor=(0.5, 0.5))
                    t.setFont(font)
                    t.setPos(c + 0.5, r + 0.5)
                    plot.addItem(t, ignoreBounds=True)
                    self.cell_texts.append(t)
        self.add_hover(self.confusion_image, self._describe_confusion)
        # big enough to read ten classes' counts; the notes beside it get what is left
        plot.setMinimumSize(300, 300)
        inner.addItem(plot, row=0, col=0)
        self.report_notes = pg.LabelItem("", color=INK, size="9pt", justify="left")
        inner.addItem(self.report_notes, row=0, col=1)
        inner.layout.setColumnStretchFactor(0, 3)
        inner.layout.setColumnStretchFactor(1, 2)

        self.wrong_image = None
        self.wrong_marks = None
        x = snapshot.probe_x
        height = 330
        if self.is_image:
            h, w = x.shape[1], x.shape[2]
            # Each tile: the red-framed image, white margins beside it and a white band
            # below it, so that a two-line caption fits under every tile.
            self.tile_box = (FRAME, max(4, int(round(0.3 * w))) + FRAME, h, w)  # image's top, left, h, w
            band = max(20, int(1.25 * h))  # three short caption lines
            self.wrong_mosaic = Mosaic(
                REPORT_TILES, h + 2 * FRAME + band, w + 2 * self.tile_box[1], cols=REPORT_COLS, pad=2
            )
            self.wrong_tiles = np.full(
                (REPORT_TILES, self.wrong_mosaic.h, self.wrong_mosaic.w, 3), 255, np.uint8
            )
            self.wrong_view, self.wrong_image = image_view(lay, row=row + 2, col=0, colspan=2)
            self.wrong_view.setMinimumHeight(WRONG_ROW_HEIGHT)
            lay.layout.setRowStretchFactor(row + 2, 3)
            self.wrong_captions = []
            font = QFont()
            font.setPointSize(8)
            centered = QTextOption(Qt.AlignmentFlag.AlignHCenter)
            for i in range(REPORT_TILES):
                t = pg.TextItem("", color=INK, anchor=(0.5, 0))
                t.setFont(font)
                t.textItem.document().setDefaultTextOption(centered)
                t.textItem.setTextWidth(CAPTION_WIDTH)
                y0, x0 = self.wrong_mosaic.origin(i)
                t.setPos(x0 + self.wrong_mosaic.w / 2, y0 + h + 2 * FRAME)
                t.setParentItem(self.wrong_image)
                self.wrong_captions.append(t)
            self.add_hover(self.wrong_image, self._describe_wrong)
            height += WRONG_ROW_HEIGHT
        elif hasattr(self, "sample_plot"):  # 2D points: mark the wrong test points on the plane
            self.wrong_marks = pg.ScatterPlotItem(
                size=13, symbol="x", brush=pg.mkBrush(*WRONG), pen=pg.mkPen(*WRONG, width=1)
            )
            self.sample_plot.addItem(self.wrong_marks)
        # What is above: the sample row, and for images the probe gallery.
        self.graphics.setMinimumHeight(height + (330 if self.is_image else 280))
        self._show_report()

    def _paper(self) -> tuple[int, int, int]:
        """The panel's background as RGB: the margins and gaps of the mosaics (white, or dark)."""
        c = QColor(self.theme.background)
        return c.red(), c.green(), c.blue()

    def _theme_changed(self, theme) -> None:
        for mosaic in (getattr(self, "gallery_mosaic", None), getattr(self, "wrong_mosaic", None)):
            if mosaic is not None:
                mosaic.set_background(self._paper())
        if getattr(self, "wrong_image", None) is not None:
            for t in self.wrong_captions:
                t.setColor(theme.ink)
            self._show_report()
        if self.snapshot is not None and getattr(self, "gallery_mosaic", None) is not None:
            self._gallery_key = None
            self._update(self.snapshot)

    def _show_report(self) -> None:
        k = self.n_classes
        r = self.report
        if r is not None and r.confusion.shape != (k, k):
            r = None  # a report for another network; the next epoch brings one that fits
        confusion = r.confusion if r is not None else np.zeros((k, k), np.int64)
        top = max(int(confusion.max()), 1)
        self.confusion_image.setImage(confusion, levels=(0, top), autoLevels=False)
        self.confusion_image.setRect(QRectF(0, 0, k, k))
        if self.cell_texts:
            colors = confusion_cmap().map(confusion.ravel() / top, mode="byte")
            for t, v, rgba in zip(self.cell_texts, confusion.ravel(), colors):
                t.setText(str(int(v)) if r is not None else "")
                dark = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] < 140
                t.setColor("w" if dark else INK)
        m = 0 if r is None else len(r.wrong_indices)
        split = "test" if r is None else {"test": "test", "val": "validation"}.get(r.split, r.split)
        if r is None:
            self.report_heading.setText(
                f"<span style='color:{MUTED}'>At the end of each epoch: how the network "
                "does on the test set, and where it goes wrong</span>"
            )
        else:
            n, right = r.n_samples, int(np.trace(r.confusion))
            self.report_heading.setText(
                f"{split.capitalize()} set after epoch {r.epoch}: {right:,} of {n:,} right ({r.accuracy:.1%})"
            )
        self.report_notes.setText("<br>".join(self._notes(r, split)))
        if self.wrong_image is not None:
            tiles = self.wrong_tiles
            tiles[:] = self._paper()
            top_, left, h, w = self.tile_box
            tiles[:m, top_ - FRAME : top_ + h + FRAME, left - FRAME : left + w + FRAME] = np.array(
                WRONG, np.uint8
            )
            if m:
                gray = (np.clip(r.wrong_x.mean(axis=3), 0, 1) * 255).astype(np.uint8)
                tiles[:m, top_ : top_ + h, left : left + w] = gray[..., None]
            self.wrong_image.setImage(self.wrong_mosaic.compose(tiles), levels=(0, 255), autoLevels=False)
            for i, t in enumerate(self.wrong_captions):
                if i < m:
                    p = float(r.wrong_probabilities[i, r.wrong_predicted[i]])
                    t.setText(
                        f"{self._short(r.wrong_true[i])}\n→ {self._short(r.wrong_predicted[i])}\n{p:.0%}"
                    )
                else:
                    t.setText("")
        if self.wrong_marks is not None:
            pts = r.wrong_x[:, :2] if m else np.zeros((0, 2))
            self.wrong_marks.setData(pts[:, 0], pts[:, 1])

    def _notes(self, r: EvalReport | None, split: str) -> list[str]:
        """Beside the matrix: how to read it, the commonest confusions, and for points the wrong ones."""
        lines = [
            "<b>Rows</b>: the true class.",
            "<b>Columns</b>: what the network said.",
            "The diagonal counts right answers;",
            "every other cell is a mix-up.",
        ]
        if r is None:
            return lines
        off = r.confusion.copy()
        np.fill_diagonal(off, 0)
        order = np.argsort(off, axis=None)[::-1]
        pairs = [divmod(int(i), off.shape[1]) for i in order[:5] if off.flat[i] > 0]
        if pairs:
            lines += ["", "<b>Most common mix-ups</b> (true → said):"]
            lines += [f"{self.class_name(t)} → {self.class_name(q)}: {int(off[t, q]):,}" for t, q in pairs]
        m = len(r.wrong_indices)
        if self.wrong_image is not None:
            if m:
                lines += ["", f"<b>Below</b>: the {m} {split} samples it got", "wrong most confidently."]
            else:
                lines += ["", f"No {split} sample is wrong."]
            return lines
        lines += [
            "",
            "<b>Most confidently wrong</b>" + (" (× on the plane)" if self.wrong_marks is not None else ""),
        ]
        for i in range(min(m, 6)):
            xi = np.ravel(r.wrong_x[i])
            coords = ", ".join(f"{v:.2f}" for v in xi[:4]) + (", …" if len(xi) > 4 else "")
            p = float(r.wrong_probabilities[i, r.wrong_predicted[i]])
            lines.append(
                f"({coords}): {self.class_name(int(r.wrong_true[i]))} → "
                f"{self.class_name(int(r.wrong_predicted[i]))} {p:.0%}"
            )
        if m > 6:
            lines.append(f"… and {m - 6} more")
        if not m:
            lines.append(f"none: every {split} sample is right")
        return lines

    def wrong_tile(self, i: int) -> np.ndarray:
        """The gray image shown in wrong-sample tile ``i`` (uint8, h x w), cut out of the mosaic."""
        top, left, h, w = self.tile_box
        return self.wrong_mosaic.tile(self.wrong_image.image, i)[top : top + h, left : left + w, 0]

    def _short(self, k) -> str:
        name = self.class_name(int(k))
        return name if len(name) <= 11 else name[:10] + "."

    def _update(self, snapshot) -> None:
        s = self.selected_sample
        probs = snapshot.probabilities
        p = probs[s]
        truth = int(snapshot.probe_y[s])
        guess = int(np.argmax(p))
        k = len(p)
        self.bars.setOpts(
            width=p,
            brushes=[self.bar_brushes[0 if i == truth else (1 if i == guess else 2)] for i in range(k)],
        )
        for i, t in enumerate(self.bar_labels):
            t.setText(f"{p[i]:.1%}")
            t.setPos(min(float(p[i]), 0.82) + 0.01, i)
        verdict = "right" if guess == truth else "wrong"
        color = "#2ea043" if guess == truth else "#d62728"
        self.heading.setText(
            f"sample {s}: true <b>{self.class_name(truth)}</b>, predicted "
            f"<b>{self.class_name(guess)}</b> ({p[guess]:.0%}) "
            f"<span style='color:{color}'>{verdict}</span>"
        )
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
            self.sample_image.setImage(
                img[..., 0] if img.shape[-1] == 1 else img, levels=(0.0, 1.0), autoLevels=False
            )
            gray = (np.clip(x.mean(axis=3), 0, 1) * 255).astype(np.uint8)
            tiles = self.gallery_tiles
            tiles[:] = np.where(ok, 1, 0)[:, None, None, None] * np.array(RIGHT, np.uint8) + np.where(
                ok, 0, 1
            )[:, None, None, None] * np.array(WRONG, np.uint8)
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

    def _describe_confusion(self, r, c):
        if self.report is None or self.report.confusion.shape[0] <= max(r, c):
            return f"true {self.class_name(r)}, predicted {self.class_name(c)}: no report yet"
        conf = self.report.confusion
        v, row = int(conf[r, c]), int(conf[r].sum())
        share = f" ({v / row:.1%} of the true {self.class_name(r)})" if row else ""
        return f"true {self.class_name(r)}, predicted {self.class_name(c)}: {v:,} samples{share}"

    def _describe_wrong(self, r, c):
        hit = self.wrong_mosaic.locate(r, c)
        if hit is None or self.report is None or hit[0] >= len(self.report.wrong_indices):
            return None
        i, rep = hit[0], self.report
        p = rep.wrong_probabilities[i]
        pred = int(rep.wrong_predicted[i])
        split = {"test": "test", "val": "validation"}.get(rep.split, rep.split)
        return (
            f"{split} sample {int(rep.wrong_indices[i])}: true {self.class_name(int(rep.wrong_true[i]))}, "
            f"predicted {self.class_name(pred)} ({p[pred]:.1%}); "
            f"the true class got {p[int(rep.wrong_true[i])]:.1%}"
        )

    def _describe_gallery(self, r, c):
        hit = self.gallery_mosaic.locate(r, c)
        if hit is None or self.snapshot is None:
            return None
        i = hit[0]
        p = self.snapshot.probabilities[i]
        g = int(np.argmax(p))
        return (
            f"sample {i}: true {self.class_name(int(self.snapshot.probe_y[i]))}, predicted "
            f"{self.class_name(g)} ({p[g]:.0%}) — click to select"
        )
