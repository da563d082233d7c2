"""Dense layers' weight matrices as heatmaps; on image inputs, each unit's incoming weights as an image."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QComboBox, QLabel

from ...core.layers import Role
from .description import PanelDescription
from .drawing.colors import INK, diverging_cmap
from .drawing.mosaic import Mosaic
from .drawing.plots import add_label, colorbar, fmt, image_view, integer_ticks, style_plot
from .drawing.scales import SymmetricLevels
from .panel import Panel

MAX_TILES = 64  # beyond this many units the tiles get too small to read


class WeightsPanel(Panel):
    """A diverging heatmap of one Dense layer's kernel (inputs x units) and its bias, with a colour bar."""

    description = PanelDescription("weights", "Weights", "Every dense layer's weights as a heatmap")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.layer_box = QComboBox()
        self.layer_box.setMinimumContentsLength(16)
        self.layer_box.currentIndexChanged.connect(self._on_layer_box_changed)
        self.controls.addWidget(QLabel("Layer"))
        self.controls.addWidget(self.layer_box)
        self.controls.addStretch(1)
        self.layers: list[str] = []
        self.levels: dict[str, SymmetricLevels] = {}
        self.mosaic: Mosaic | None = None
        self.image = self.bias_image = self.tiles_image = None

    @property
    def selected_layer(self) -> str | None:
        i = self.layer_box.currentIndex()
        return self.layers[i] if 0 <= i < len(self.layers) else None

    def select_layer(self, node_id: str) -> None:
        self.layer_box.setCurrentIndex(self.layers.index(node_id))

    def _dense_layers(self, snapshot) -> list[str]:
        net = self.network
        ids = [
            nid
            for nid, p in snapshot.params.items()
            if "kernel" in p
            and p["kernel"].ndim == 2
            and (net is None or nid not in net.nodes or not net.nodes[nid].layer.spatial)
        ]
        return self.ordered(ids)

    def image_source(self, node_id: str) -> tuple[int, int, int] | None:
        """(H, W, C) when this Dense layer reads a Flatten of the image input, so each unit's weights form an image."""
        net = self.network
        if net is None or node_id not in net.nodes:
            return None
        cur = net.inputs_of(node_id)
        seen_flatten = False
        while len(cur) == 1:
            node = net.nodes[cur[0]]
            if node.role is Role.RESHAPE and not seen_flatten:
                seen_flatten = True
            elif node.role is Role.INPUT:
                shape = self.info.input_shape if self.info is not None else ()
                return tuple(shape) if seen_flatten and len(shape) == 3 else None
            elif node.role is not Role.ELEMENTWISE:  # changes values one by one, keeps the layout
                return None
            cur = net.inputs_of(node.id)
        return None

    def _architecture_key(self, snapshot):
        return (super()._architecture_key(snapshot), self.selected_layer)

    def _rebuild(self, snapshot) -> None:
        layers = self._dense_layers(snapshot)
        if layers != self.layers:
            keep = self.selected_layer
            self.layers = layers
            self.layer_box.blockSignals(True)
            self.layer_box.clear()
            for nid in layers:
                k = snapshot.params[nid]["kernel"]
                self.layer_box.addItem(f"{self.node_name(nid)}  ({k.shape[0]} → {k.shape[1]})")
            if keep in layers:
                self.layer_box.setCurrentIndex(layers.index(keep))
            self.layer_box.blockSignals(False)
            self.levels = {nid: SymmetricLevels() for nid in layers}
        nid = self.selected_layer
        lay = self.layout_
        self.image = self.bias_image = self.tiles_image = None
        self.mosaic = None
        if nid is None:
            add_label(lay, "This network has no Dense layer.", color=INK, size="12pt")
            return
        kernel = snapshot.params[nid]["kernel"]
        name = self.node_name(nid)
        src = self.image_source(nid)
        add_label(
            lay,
            f"<b>{name}</b>: w[i, j], input i → unit j",
            row=0,
            col=0,
            colspan=1 if src else 3,
            color=INK,
            size="10pt",
        )
        self.plot = pg.PlotItem()
        style_plot(self.plot, None, "unit j", "input i")
        self.plot.invertY(True)
        self.plot.setMenuEnabled(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        # cell (i, j) centred on (j, i), so ticks name whole inputs and units
        self.image.setImage(np.zeros(kernel.shape, np.float32))
        self.image.setRect(QRectF(-0.5, -0.5, kernel.shape[1], kernel.shape[0]))
        integer_ticks(self.plot.getAxis("bottom"), kernel.shape[1])
        integer_ticks(self.plot.getAxis("left"), kernel.shape[0])
        lay.addItem(self.plot, row=1, col=0)
        images = [self.image]
        if src is not None:
            h, w, c = src
            shown = min(kernel.shape[1], MAX_TILES)
            self.mosaic = Mosaic(shown, h, w)
            add_label(
                lay,
                f"each unit's weights as a {h}×{w} image"
                + (f" ({shown} of {kernel.shape[1]})" if shown < kernel.shape[1] else ""),
                row=0,
                col=1,
                colspan=2,
                color=INK,
                size="10pt",
            )
            vb, self.tiles_image = image_view(lay, row=1, col=1)
            vb.setMinimumWidth(200)
            images.append(self.tiles_image)
            self.add_hover(self.tiles_image, self._describe_tile)
        self.bar = colorbar(diverging_cmap(), images, label="weight")
        lay.addItem(self.bar, row=1, col=2)
        if "bias" in snapshot.params[nid]:
            self.bias_plot = pg.PlotItem()
            style_plot(self.bias_plot, None, None, "bias")
            self.bias_plot.getAxis("left").setTicks([[]])
            self.bias_plot.setMaximumHeight(70)
            self.bias_plot.setXLink(self.plot)
            self.bias_plot.setMenuEnabled(False)
            self.bias_image = pg.ImageItem(axisOrder="row-major")
            self.bias_plot.addItem(self.bias_image)
            self.bias_image.setImage(np.zeros((1, kernel.shape[1]), np.float32))
            self.bias_image.setRect(QRectF(-0.5, -0.5, kernel.shape[1], 1))
            integer_ticks(self.bias_plot.getAxis("bottom"), kernel.shape[1])
            self.bias_image.setColorMap(diverging_cmap())
            lay.addItem(self.bias_plot, row=2, col=0)
            self.add_hover(self.bias_image, self._describe_bias)
        lay.layout.setRowStretchFactor(1, 10)
        self.add_hover(self.image, self._describe_weight)

    def _update(self, snapshot) -> None:
        nid = self.selected_layer
        if nid is None or self.image is None:
            return
        p = snapshot.params[nid]
        kernel = p["kernel"]
        levels = self.levels[nid].update(kernel)
        self.image.setImage(kernel, levels=levels, autoLevels=False)
        self.bar.setLevels(levels)
        if self.tiles_image is not None:
            h, w, c = self.mosaic.h, self.mosaic.w, kernel.shape[0] // (self.mosaic.h * self.mosaic.w)
            tiles = (
                kernel[:, : self.mosaic.n].T.reshape(-1, h, w, c).mean(axis=3)
            )  # colour inputs: the mean over channels
            self.tiles_image.setImage(self.mosaic.compose(tiles), levels=levels, autoLevels=False)
        if self.bias_image is not None and "bias" in p:
            self.bias_image.setImage(p["bias"][None, :], levels=levels, autoLevels=False)

    # ------------------------------------------------------------ hover and controls

    def _describe_weight(self, row, col):
        k = self.snapshot.params[self.selected_layer]["kernel"]
        return (
            f"{self.node_name(self.selected_layer)}: w[input {row} → unit {col}] = {fmt(float(k[row, col]))}"
        )

    def _describe_bias(self, row, col):
        b = self.snapshot.params[self.selected_layer]["bias"]
        return f"{self.node_name(self.selected_layer)}: bias of unit {col} = {fmt(float(b[col]))}"

    def _describe_tile(self, row, col):
        hit = self.mosaic.locate(row, col)
        if hit is None:
            return None
        j, y, x = hit
        v = self.tiles_image.image[row, col]
        return f"{self.node_name(self.selected_layer)}: unit {j}, weight from pixel (row {y}, col {x}) = {fmt(float(v))}"

    def _on_layer_box_changed(self, index: int) -> None:
        if self.snapshot is not None:
            self.show_snapshot(self.snapshot)
