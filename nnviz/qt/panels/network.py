"""The whole network at a glance, as TensorFlow Playground draws it: neurons and weighted connections.

Layers stand left to right by their depth in the graph (parallel branches share a column,
one above the other). Each neuron is a circle coloured by its output for the selected
probe sample (orange < 0 < blue); each connection is an S-curve coloured by the weight's
sign, its width growing with |w|.

Large layers stay readable with a fixed number of graphics items whatever their size:

- an image input is drawn as the image; conv and pooling outputs as one mosaic image of
  their feature maps (one tile per channel);
- a Dense layer of more than ``MAX_UNITS`` units shows ``MAX_UNITS`` of them (the most
  active for the selected sample, or evenly spaced) and its title says how many;
- between large layers only the strongest ``TOP_LINKS`` connections (by |w|) among the
  drawn neurons are drawn; from an image or a mosaic into a Dense layer the strongest
  ``TOP_PIXEL_LINKS``, each starting at the pixel it reads (behind the picture); between conv layers one line per (input map, output map) stands
  for the whole kh×kw kernel (its sum: what a flat patch of the input map adds).

Pass-through nodes (reshapes and element-wise layers: Flatten, Dropout, Activation) are merged into the layer before them
when they are its only consumer: the column shows the values the merged chain hands on
(after the Activation; Dropout is the identity when probing) and its title names them.
Otherwise they get a column of their own, joined one-to-one by thin grey lines, as are
pooling layers (channel to channel) and the inputs of Add and Concatenate.

Items are built once per architecture (``_rebuild``) and only fed in ``_update``: one
ScatterPlotItem per layer, one image per image layer, one PlotCurveItem per
(sign, width bucket) per pair of connected layers, a few labels.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QLabel

from ...core.layers import Role
from .description import PanelDescription
from .drawing.colors import INK, MUTED, diverging_cmap, gray_cmap
from .drawing.mosaic import Mosaic
from .drawing.plots import ShrinkingLabel, fmt
from .drawing.scales import SymmetricLevels
from .panel import Panel

MAX_UNITS = 32  # neurons drawn per layer at most
MAX_MAPS = 64  # feature maps drawn per layer at most (tiles of one mosaic image)
ALL_LINKS = 150  # a pair of layers with at most this many drawn connections shows all of them
TOP_LINKS = 80  # otherwise only the strongest this many
TOP_PIXEL_LINKS = 48  # from the pixels of an image or a mosaic, fewer: they fan out of one small picture
MAX_LABELS = 12  # value labels next to input features and output classes, when there are so few

# Connections: |w| relative to the layer's largest |w| falls in one of these buckets.
WIDTHS = (0.8, 1.6, 2.8, 4.2)  # screen pixels
ALPHAS = (70, 120, 170, 215)

# Scene geometry (the view keeps the aspect ratio and fits it to the panel).
COL_GAP = 240.0  # horizontal distance between layers for a view of the drawing's own shape
MIN_COL_GAP, MAX_COL_GAP = 200.0, 460.0  # wider views spread the layers out, within these
TITLE_PX = 44.0  # screen pixels above the drawing for two lines of layer title
ASPECT_STEP = 1.3  # the layout follows the view's shape in steps of this ratio (a rebuild each)
HEIGHT = 560.0
UNIT_STEP = 56.0  # vertical distance between neurons when there is room
UNIT_SIZE = 34.0  # neuron diameter when there is room
IMAGE_SIZE = 150.0
MAPS_WIDTH = 110.0
BRUSH_STEPS = 101  # neuron colours are quantised to this many shades, made once

_T = np.linspace(0.0, 1.0, 16)[None, :]
_B0, _B1, _B2, _B3 = (1 - _T) ** 3, 3 * (1 - _T) ** 2 * _T, 3 * (1 - _T) * _T**2, _T**3


def link_curves(x0, y0, x1, y1, lift: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Points of one cubic S-curve per connection, a row each, ending in NaN (for ``connect="finite"``).

    With ``lift`` (a y above the drawing) the curves arc over the layers between their ends:
    skip connections then do not run through the neurons they jump over.
    """
    x0, y0, x1, y1 = (np.asarray(a, float)[:, None] for a in (x0, y0, x1, y1))
    xs = np.empty((x0.shape[0], _T.shape[1] + 1))
    ys = np.empty_like(xs)
    if lift is None:
        xm = 0.5 * (x0 + x1)
        xs[:, :-1] = _B0 * x0 + (_B1 + _B2) * xm + _B3 * x1
        ys[:, :-1] = (_B0 + _B1) * y0 + (_B2 + _B3) * y1
    else:
        # The curve's middle reaches ``lift``, lower ends arc higher: nested, not crossing.
        peak = lift - 0.15 * (0.5 * (y0 + y1) - y0.min())
        yc = (peak - (y0 + y1) / 8.0) / 0.75
        xs[:, :-1] = (_B0 + _B1) * x0 + (_B2 + _B3) * x1
        ys[:, :-1] = _B0 * y0 + (_B1 + _B2) * yc + _B3 * y1
    xs[:, -1] = ys[:, -1] = np.nan
    return xs, ys


def strongest(matrix: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the ``k`` entries of largest magnitude (all of them when there are at most ``k``)."""
    if matrix.size <= k:
        r, c = np.indices(matrix.shape)
        return r.ravel(), c.ravel()
    mag = np.abs(matrix).ravel()
    mag = np.where(np.isfinite(mag), mag, -1.0)
    sel = np.argpartition(mag, mag.size - k)[mag.size - k :]
    return np.unravel_index(sel, matrix.shape)


class _Column:
    """One drawn layer: a node and the pass-through nodes merged after it."""

    kind = "units"

    def __init__(self, panel: NetworkPanel, nodes: list[str], shape: tuple[int, ...]) -> None:
        self.panel = panel
        self.nodes = nodes
        self.head, self.tail = nodes[0], nodes[-1]
        self.shape = tuple(shape)
        self.size = int(np.prod(shape))
        self.x = 0.0
        self.band = (0.0, HEIGHT)
        self.depth = 0
        self.is_output = False
        self.levels = SymmetricLevels()
        self.values: np.ndarray | None = None  # the selected sample's values, in ``shape``
        self.level = 1.0

    # geometry -------------------------------------------------------------
    def top(self) -> float:
        return self.band[0]

    def layout(self, x: float, band: tuple[float, float]) -> None:
        self.x, self.band = x, band

    def bounds(self) -> QRectF:
        raise NotImplementedError

    def anchors(self, idx: np.ndarray, side: int, by: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, y, drawn) of elements ``idx`` (units, channels or flat pixels by ``by``) on the ``side`` (-1 in, +1 out)."""
        raise NotImplementedError

    def update(self, act: np.ndarray, sample: int, new_snapshot: bool) -> None:
        raise NotImplementedError

    # text -----------------------------------------------------------------
    def function(self) -> str | None:
        net = self.panel.network
        fn = None
        for nid in self.nodes:  # the last of the merged nodes that applies one
            fn = (net.activation_of(nid) if net is not None else None) or fn
        return fn if fn and fn != "linear" else None

    def title_html(self) -> str:
        p = self.panel
        name = p.node_name(self.head)
        merged = [p.node_name(n) for n in self.nodes[1:]]
        extra = f" <span style='color:{p.muted}'>+ {', '.join(merged)}</span>" if merged else ""
        return (
            f"<div style='text-align:center'><b>{name}</b>{extra}<br>"
            f"<span style='color:{p.muted}'>{self.detail()}</span></div>"
        )

    def detail(self) -> str:
        return ""

    def describe_at(self, x: float, y: float) -> str | None:
        return None


class _UnitsColumn(_Column):
    """A vector layer: one circle per drawn unit, in one ScatterPlotItem."""

    def __init__(self, panel, nodes, shape) -> None:
        super().__init__(panel, nodes, shape)
        self.n = self.size
        self.n_shown = min(self.n, MAX_UNITS)
        self.shown = np.arange(self.n_shown)  # unit index per slot, ascending
        self.slot_of = np.full(self.n, -1)
        self.slot_of[self.shown] = np.arange(self.n_shown)
        self.scatter: pg.ScatterPlotItem | None = None
        self.labels: list[pg.TextItem] = []
        self.label_side = 0  # +1 right (classes), -1 left (input features)
        self.brush_idx = np.zeros(self.n_shown, int)
        self.values_drawn: np.ndarray | None = None

    def layout(self, x, band) -> None:
        super().layout(x, band)
        h = band[1] - band[0]
        self.step = min(UNIT_STEP, h / max(self.n_shown, 1))
        self.radius = 0.5 * min(UNIT_SIZE, 0.8 * self.step)
        mid = 0.5 * (band[0] + band[1])
        self.ys = mid + (np.arange(self.n_shown) - (self.n_shown - 1) / 2.0) * self.step

    def top(self) -> float:
        return float(self.ys[0] - self.radius) if self.n_shown else self.band[0]

    def bounds(self) -> QRectF:
        w = self.radius + (95.0 if self.labels else 0.0)
        left = self.x - (w if self.label_side < 0 else self.radius)
        right = self.x + (w if self.label_side > 0 else self.radius)
        return QRectF(left, self.top(), right - left, 2 * self.radius + (self.n_shown - 1) * self.step)

    def build(self, view: pg.ViewBox) -> None:
        p = self.panel
        self.scatter = pg.ScatterPlotItem(
            x=np.full(self.n_shown, self.x),
            y=self.ys,
            size=2 * self.radius,
            pxMode=False,
            symbol="o",
            pen=pg.mkPen(p.outline, width=1.2),
            brush=p.brushes[BRUSH_STEPS // 2],
        )
        self.scatter.setZValue(3)
        view.addItem(self.scatter)
        names = None
        if self.is_output and p.info is not None and p.info.n_classes == self.n and self.n <= MAX_LABELS:
            names = [p.class_name(k) for k in range(self.n)]
            self.label_side = 1
        elif p.network.role_of(self.head) is Role.INPUT and self.n <= MAX_LABELS:
            names = [f"x{k + 1}" for k in range(self.n)]
            self.label_side = -1
        self.label_names = names
        self.label_texts = [""] * (len(names) if names else 0)
        if names:
            for k in range(self.n):
                t = pg.TextItem("", color=p.ink, anchor=(0 if self.label_side > 0 else 1, 0.5))
                t.setPos(self.x + self.label_side * (self.radius + 6), self.ys[k])
                t.setZValue(4)
                view.addItem(t)
                self.labels.append(t)

    def detail(self) -> str:
        fn = self.function()
        fn = f" · {fn}" if fn else ""
        if self.n <= MAX_UNITS:
            return f"{self.n} unit{'s' if self.n != 1 else ''}{fn}"
        how = "most active" if self.panel.subset_mode == "active" else "evenly spaced"
        return f"{self.n} units, {self.n_shown} {how} shown{fn}"

    def choose(self, v: np.ndarray) -> None:
        """Which units fill the slots: all of them, the most active, or evenly spaced."""
        if self.n <= MAX_UNITS:
            return
        if self.panel.subset_mode == "active":
            mag = np.abs(np.nan_to_num(v, nan=0.0))
            shown = np.sort(np.argpartition(mag, self.n - self.n_shown)[self.n - self.n_shown :])
        else:
            shown = np.round(np.linspace(0, self.n - 1, self.n_shown)).astype(int)
        if not np.array_equal(shown, self.shown):
            self.slot_of[self.shown] = -1
            self.shown = shown
            self.slot_of[shown] = np.arange(self.n_shown)

    def update(self, act, sample, new_snapshot) -> None:
        flat = act.reshape(act.shape[0], -1)
        if new_snapshot or self.values is None:
            self.level = self.levels.update(flat)[1]
        v = flat[sample]
        self.values = v
        self.choose(v)
        vs = v[self.shown]
        idx = np.rint((np.clip(vs / self.level, -1, 1) + 1) * 0.5 * (BRUSH_STEPS - 1))
        idx = np.where(np.isfinite(idx), idx, BRUSH_STEPS // 2).astype(int)
        if self.values_drawn is None or not np.array_equal(idx, self.brush_idx):
            self.brush_idx = idx
            brushes = self.panel.brushes
            self.scatter.setBrush([brushes[i] for i in idx])
        self.values_drawn = vs
        if self.labels:
            for k, t in enumerate(self.labels):
                text = (
                    f"{self.label_names[k]}  {float(v[k]):.2f}"
                    if self.label_side > 0
                    else f"{self.label_names[k]} = {float(v[k]):.2f}"
                )
                if text != self.label_texts[k]:
                    self.label_texts[k] = text
                    t.setText(text)

    def anchors(self, idx, side, by):
        idx = np.asarray(idx, int)
        ok = (idx >= 0) & (idx < self.n)
        slot = np.where(ok, self.slot_of[np.clip(idx, 0, self.n - 1)], -1)
        drawn = slot >= 0
        ys = self.ys[np.clip(slot, 0, None)]
        return np.full(idx.shape, self.x + side * self.radius), ys, drawn

    def drawn_elements(self, by: str) -> np.ndarray:
        return self.shown

    def unit_at(self, x: float, y: float) -> int | None:
        if abs(x - self.x) > self.radius * 1.15 or not self.n_shown:
            return None
        k = int(np.argmin(np.abs(self.ys - y)))
        if abs(self.ys[k] - y) > self.radius * 1.15:
            return None
        return int(self.shown[k])

    def describe_at(self, x, y):
        j = self.unit_at(x, y)
        if j is None or self.values is None:
            return None
        p = self.panel
        text = f"{p.node_name(self.tail)} ({p.node_type(self.head)}) · unit {j} of {self.n}: {fmt(float(self.values[j]))}"
        if self.is_output and p.info is not None and j < p.info.n_classes:
            text += f" · class {p.class_name(j)}"
        snap = p.snapshot
        if snap is not None and "bias" in snap.params.get(self.head, {}):
            text += f" · bias {fmt(float(snap.params[self.head]['bias'][j]))}"
        return text


class _PictureColumn(_Column):
    """A layer drawn as one image, centred in its band (an input image, or a mosaic of maps)."""

    def _place(self, x: float, band: tuple[float, float], w: float, h: float) -> None:
        mid = 0.5 * (band[0] + band[1])
        self.rect = QRectF(x - w / 2, mid - h / 2, w, h)

    def top(self) -> float:
        return self.rect.top()

    def bounds(self) -> QRectF:
        return QRectF(self.rect)

    def _build_image(self, view, cmap, shape, describe) -> None:
        self.image = pg.ImageItem(axisOrder="row-major")
        if cmap is not None:
            self.image.setColorMap(cmap)
        self.image.setZValue(2.5)  # above the connections, which leave it from behind their pixels
        view.addItem(self.image)
        self.image.setImage(np.zeros(shape, np.float32))
        self.image.setRect(self.rect)
        self.panel.add_hover(self.image, describe)


class _ImageColumn(_PictureColumn):
    """An image input, drawn as the picture itself (grey for one channel, RGB for three)."""

    kind = "image"

    def __init__(self, panel, nodes, shape) -> None:
        super().__init__(panel, nodes, shape)
        self.H, self.W, self.C = self.shape

    def layout(self, x, band) -> None:
        super().layout(x, band)
        h = min(IMAGE_SIZE, band[1] - band[0])
        self.scale = h / max(self.H, self.W)
        self._place(x, band, self.W * self.scale, self.H * self.scale)

    def build(self, view) -> None:
        self._build_image(view, gray_cmap() if self.C != 3 else None, (self.H, self.W), self.describe_pixel)
        self.lo_hi = (0.0, 1.0)

    def detail(self) -> str:
        return f"{self.H}×{self.W}×{self.C} image = {self.size} inputs"

    def update(self, act, sample, new_snapshot) -> None:
        if new_snapshot or self.values is None:
            lo, hi = float(np.nanmin(act)), float(np.nanmax(act))
            self.lo_hi = (lo, hi if hi > lo else lo + 1.0)
        v = act[sample].reshape(self.shape)
        self.values = v
        img = v if self.C == 3 else (v[..., 0] if self.C == 1 else v.mean(axis=-1))
        self.image.setImage(img, levels=self.lo_hi, autoLevels=False)

    def anchors(self, idx, side, by):
        idx = np.asarray(idx, int)
        if by == "pixel":
            r, c, _ = np.unravel_index(idx, self.shape)
            return (
                self.rect.left() + (c + 0.5) * self.scale,
                self.rect.top() + (r + 0.5) * self.scale,
                np.ones(idx.shape, bool),
            )
        x = self.rect.right() if side > 0 else self.rect.left()
        return np.full(idx.shape, x), np.full(idx.shape, self.rect.center().y()), (idx >= 0) & (idx < self.C)

    def drawn_elements(self, by: str) -> np.ndarray:
        return np.arange(self.size) if by == "pixel" else np.arange(self.C)

    def describe_pixel(self, row, col):
        if self.values is None:
            return None
        vals = ", ".join(fmt(float(x)) for x in self.values[row, col])
        return f"{self.panel.node_name(self.head)} pixel (row {row}, col {col}): {vals}"


class _MapsColumn(_PictureColumn):
    """Feature maps (conv, pooling, image merges): one mosaic image, one tile per channel."""

    kind = "maps"

    def __init__(self, panel, nodes, shape) -> None:
        super().__init__(panel, nodes, shape)
        self.H, self.W, self.C = self.shape
        self.levels = SymmetricLevels(quantile=0.995)
        self.channels = (
            np.arange(self.C)
            if self.C <= MAX_MAPS
            else np.round(np.linspace(0, self.C - 1, MAX_MAPS)).astype(int)
        )
        self.tile_of = np.full(self.C, -1)
        self.tile_of[self.channels] = np.arange(len(self.channels))
        n = len(self.channels)
        cols = max(1, int(round(math.sqrt(n / 3.0))))  # a tall column, about three times higher than wide
        self.mosaic = Mosaic(n, self.H, self.W, cols=cols)

    def layout(self, x, band) -> None:
        super().layout(x, band)
        mh, mw = self.mosaic.shape
        self.scale = min(MAPS_WIDTH / mw, (band[1] - band[0]) / mh, 12.0)
        self._place(x, band, mw * self.scale, mh * self.scale)

    def build(self, view) -> None:
        self._build_image(view, diverging_cmap(), self.mosaic.shape, self.describe_cell)

    def detail(self) -> str:
        fn = self.function()
        more = f", {len(self.channels)} shown" if len(self.channels) < self.C else ""
        return f"{self.C} maps {self.H}×{self.W}{more}" + (f" · {fn}" if fn else "")

    def update(self, act, sample, new_snapshot) -> None:
        if new_snapshot or self.values is None:
            flat = act.reshape(-1)  # a strided sample of the batch: the quantile of all of it costs ms
            self.level = self.levels.update(flat[:: max(1, flat.size // 4096)])[1]
        v = act[sample].reshape(self.shape)
        self.values = v
        img = self.mosaic.compose(np.moveaxis(v[..., self.channels], -1, 0))
        self.image.setImage(img, levels=(-self.level, self.level), autoLevels=False)

    def _tile_xy(self, tile: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r, c = np.divmod(tile, self.mosaic.cols)
        return c * (self.W + self.mosaic.pad), r * (self.H + self.mosaic.pad)

    def anchors(self, idx, side, by):
        idx = np.asarray(idx, int)
        if by == "pixel":
            r, c, ch = np.unravel_index(idx, self.shape)
        else:
            ch = idx
        ok = (ch >= 0) & (ch < self.C)
        tile = np.where(ok, self.tile_of[np.clip(ch, 0, self.C - 1)], -1)
        tx, ty = self._tile_xy(np.clip(tile, 0, None))
        if by == "pixel":
            px, py = tx + c + 0.5, ty + r + 0.5
        else:
            px, py = tx + (self.W if side > 0 else 0), ty + self.H / 2.0
        return self.rect.left() + px * self.scale, self.rect.top() + py * self.scale, tile >= 0

    def drawn_elements(self, by: str) -> np.ndarray:
        if by == "pixel":
            if len(self.channels) == self.C:
                return np.arange(self.size)
            hw = np.arange(self.H * self.W)[:, None] * self.C
            return (hw + self.channels[None, :]).ravel()
        return self.channels

    def describe_cell(self, row, col):
        hit = self.mosaic.locate(row, col)
        if hit is None or self.values is None:
            return None
        i, y, x = hit
        ch = int(self.channels[i])
        p = self.panel
        return f"{p.node_name(self.tail)} map {ch} at (row {y}, col {x}): {fmt(float(self.values[y, x, ch]))}"


class _Links:
    """The connections from one drawn layer into another, in a few curves sorted by sign and |w|."""

    def __init__(self, panel: NetworkPanel, src: _Column, dst: _Column, kind: str, offset: int = 0) -> None:
        self.panel, self.src, self.dst, self.kind, self.offset = panel, src, dst, kind, offset
        # "dense": kernel (in, out); "conv": kernel summed over its window; "identity": one to one, no weight
        # (maps into units: pixel by pixel, as a Flatten hands them on, or one unit per map from a
        # pooling layer that summarises each whole map)
        per_map = panel.network is not None and panel.network.role_of(dst.head) is Role.POOLING
        self.by = (
            "pixel"
            if (kind == "dense" and src.kind != "units")
            or (kind == "identity" and src.kind != "units" and dst.kind == "units" and not per_map)
            else ("unit" if src.kind == "units" else "channel")
        )
        self.levels = SymmetricLevels(shrink=0.02)
        self.items: dict[tuple[int, int], pg.PlotCurveItem] = {}
        self.lift: float | None = None
        self.src_idx = self.dst_idx = np.zeros(0, int)
        self.values = np.zeros(0)
        self.bucket = np.zeros(0, int)
        self.total = 0  # connections that exist between the two layers
        self.counts: dict[tuple[int, int], int] = {}

    def build(self, view: pg.ViewBox, lift: float | None) -> None:
        self.lift = lift
        p = self.panel
        if self.kind == "identity":
            keys = [(0, 0)]
        else:
            keys = [(s, b) for s in (0, 1) for b in range(len(WIDTHS))]
        for key in keys:
            if self.kind == "identity":
                pen = pg.mkPen(QColor(*p.neutral_line), width=1.3)
            else:
                s, b = key
                c = QColor(*(p.blue if s else p.orange))
                c.setAlpha(ALPHAS[b])
                pen = pg.mkPen(c, width=WIDTHS[b])
            item = pg.PlotCurveItem(pen=pen, connect="finite", antialias=not self.panel.draft)
            item.setZValue(2 if self.kind != "identity" else 1.5)
            view.addItem(item)
            self.items[key] = item

    def _weights(self, snapshot) -> np.ndarray | None:
        k = snapshot.params.get(self.dst.head, {}).get("kernel")
        if k is None:
            return None
        if self.kind == "conv":
            return k.sum(axis=(0, 1))  # (in, out): how a flat patch of input map i drives output map o
        return k

    def update(self, snapshot, new_snapshot: bool) -> None:
        src, dst = self.src, self.dst
        if self.kind == "identity":
            d = dst.drawn_elements(self.by if dst.kind == "units" else "channel")
            s = d - self.offset
            sx, sy, sok = src.anchors(s, +1, self.by)
            dx, dy, dok = dst.anchors(d, -1, "unit" if dst.kind == "units" else "channel")
            ok = sok & dok & (s >= 0)
            self.src_idx, self.dst_idx = s[ok], d[ok]
            self.values = np.ones(int(ok.sum()))
            self.total = min(src.size if self.by != "channel" else src.shape[-1], len(d))
            x, y = link_curves(sx[ok], sy[ok], dx[ok], dy[ok], self.lift)
            self.items[(0, 0)].setData(x=x.ravel(), y=y.ravel())
            return
        w = self._weights(snapshot)
        if w is None:
            return
        self.total = w.size
        if new_snapshot or self.levels.level is None:
            mx = float(np.max(np.abs(w))) if w.size else 1.0
            self.levels.update(np.array([mx if math.isfinite(mx) else 1.0]))
        level = max(self.levels.level, 1e-12)
        rows = src.drawn_elements(self.by)
        cols = dst.drawn_elements("unit" if dst.kind == "units" else "channel")
        sub = w[rows[:, None], cols[None, :]] if len(rows) < w.shape[0] else w[:, cols]
        r, c = strongest(
            sub, ALL_LINKS if sub.size <= ALL_LINKS else TOP_PIXEL_LINKS if self.by == "pixel" else TOP_LINKS
        )
        si, di, v = rows[r], cols[c], sub[r, c]
        self.src_idx, self.dst_idx, self.values = si, di, v
        sx, sy, _ = src.anchors(si, +1, self.by)
        dx, dy, _ = dst.anchors(di, -1, "unit" if dst.kind == "units" else "channel")
        bucket = np.minimum((np.abs(v) / level * len(WIDTHS)).astype(int), len(WIDTHS) - 1)
        bucket = np.where(np.isfinite(v), bucket, 0)
        self.bucket = bucket
        key = np.where(v >= 0, len(WIDTHS), 0) + bucket
        x, y = link_curves(sx, sy, dx, dy, self.lift)
        for (s, b), item in self.items.items():
            m = key == s * len(WIDTHS) + b
            n = int(m.sum())
            if n == 0 and self.counts.get((s, b), 0) == 0:
                continue  # empty and still empty: nothing to redraw
            self.counts[(s, b)] = n
            item.setData(x=x[m].ravel(), y=y[m].ravel())

    def widths(self) -> np.ndarray:
        """The pen width each drawn connection got (tests check they grow with |w|)."""
        if self.kind == "identity":
            return np.full(len(self.values), 1.3)
        return np.asarray(WIDTHS)[self.bucket]


class NetworkPanel(Panel):
    """The network as TensorFlow Playground draws it: neurons coloured by value, connections by weight."""

    description = PanelDescription(
        "network",
        "Network",
        "Every neuron's value for the selected sample, and the weights between them",
        leads=1,
    )

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.subset_box = QComboBox()
        self.subset_box.addItems(["most active units", "evenly spaced units"])
        self.subset_box.setToolTip(
            f"Layers with more than {MAX_UNITS} units show only {MAX_UNITS} of them: the ones "
            "with the largest |value| for the selected sample, or a fixed evenly spaced subset."
        )
        self.subset_box.currentIndexChanged.connect(self._on_subset_box_changed)
        self.controls.addWidget(QLabel("Large layers show"))
        self.controls.addWidget(self.subset_box)
        self.controls.addStretch(1)
        self.columns: list[_Column] = []
        self.links: list[_Links] = []
        self.view: pg.ViewBox | None = None
        self._last_snapshot = None
        self._header_text = ""
        self._bounds: QRectF | None = None
        self.draft = False  # while training: connections drawn without antialiasing (4x cheaper)
        self._relayout = QTimer(self)
        self._relayout.setSingleShot(True)
        self._relayout.setInterval(150)
        self._relayout.timeout.connect(self._on_relayout_timeout)
        self._colours()
        self._placeholder()

    def set_draft(self, on: bool) -> None:
        """Draft quality while training runs (the picture changes ten times a second), full when it stops.

        Antialiased wide curves were half of the GUI thread's time during training.
        """
        on = bool(on)
        if on == self.draft:
            return
        self.draft = on
        for link in self.links:
            for item in link.items.values():
                item.opts["antialias"] = not on
                item.update()

    # ------------------------------------------------------------ the view's shape

    def _aspect_bucket(self) -> int:
        """The view's width/height, in steps of ASPECT_STEP (the layout is made for it)."""
        w, h = max(1, self.graphics.width()), max(1, self.graphics.height() - 60)  # header and legend
        return int(round(math.log(w / h) / math.log(ASPECT_STEP)))

    def _architecture_key(self, snapshot):
        return (super()._architecture_key(snapshot), self._aspect_bucket())

    def _column_gap(self, depths: int) -> float:
        """Spread the layers over the view's width: a wide dock gets wide gaps, a narrow one tight ones."""
        if depths <= 1:
            return COL_GAP
        aspect = ASPECT_STEP ** self._aspect_bucket()
        height = HEIGHT + 150.0  # the drawing's height with titles and margins, in scene units
        width = aspect * height - 380.0  # less the margins and the class labels beside the last layer
        return float(np.clip(width / (depths - 1), MIN_COL_GAP, MAX_COL_GAP))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if (
            self.snapshot is not None
            and self._arch_key is not None
            and self._arch_key[1] != self._aspect_bucket()
        ):
            self._relayout.start()  # once the user stops dragging the dock's edge

    def _on_relayout_timeout(self) -> None:
        if self.snapshot is not None:
            self.show_snapshot(self.snapshot)

    # ------------------------------------------------------------ colours

    def _colours(self, theme=None) -> None:
        """Ink and outlines that read on the panel's background, light or dark.

        From the panel's theme (drawing/theme.py) when it has one (``_theme_changed``), else from the background.
        """
        from .drawing.colors import BLUE, ORANGE

        if theme is not None:
            dark, self.ink, self.muted = bool(theme.dark), theme.ink, theme.muted
        else:
            dark = self.graphics.backgroundBrush().color().lightnessF() < 0.5
            self.ink = "#e5e7eb" if dark else INK
            self.muted = "#9ca3af" if dark else MUTED
        self.outline = (200, 204, 210) if dark else (90, 96, 105)
        self.neutral_line = (150, 156, 165, 150)
        self.blue, self.orange = BLUE, ORANGE
        lut = diverging_cmap().getLookupTable(0.0, 1.0, BRUSH_STEPS, alpha=False)
        self.brushes = [pg.mkBrush(int(r), int(g), int(b)) for r, g, b in lut]

    def _title_fill(self) -> QColor:
        bg = QColor(self.graphics.backgroundBrush().color())
        bg.setAlpha(200)  # connections passing behind a title stay visible but do not cross its text
        return bg

    def _legend_text(self) -> str:
        return (
            f"neuron: its value for this sample · line: a weight · "
            f"<span style='color:rgb{self.orange}'>■ negative</span> "
            f"<span style='color:rgb{self.blue}'>■ positive</span> · thicker = larger |w|"
        )

    def _theme_changed(self, theme) -> None:
        """The palette changed (drawing/theme.py): recolour titles, labels and outlines in place."""
        self._colours(theme)
        if not self.columns:
            self.layout_.clear()
            self._placeholder()
            return
        pen = pg.mkPen(self.outline, width=1.2)
        for col in self.columns:
            col.title_item.setColor(self.ink)
            col.title_item.fill = pg.mkBrush(self._title_fill())
            col.title_item.setHtml(col.title_html())
            self._fit_title(col.title_item)
            for t in getattr(col, "labels", []):
                t.setColor(self.ink)
            if isinstance(col, _UnitsColumn):
                col.scatter.setPen(pen)
        self.header.setText(self._header_text or " ", color=self.ink)
        self.legend.setText(self._legend_text(), color=self.muted)

    @property
    def subset_mode(self) -> str:
        return "active" if self.subset_box.currentIndex() == 0 else "spread"

    def _placeholder(self) -> None:
        # a shrinking label: a long minimum width would stay with the layout after it is cleared
        self.layout_.addItem(
            ShrinkingLabel(
                "The network is drawn here once training starts: neurons coloured by their value "
                "for the selected sample, connections by their weights.",
                color=self.muted,
                size="11pt",
            )
        )

    def _context_changed(self) -> None:
        self.columns, self.links = [], []
        self.view = None
        self._last_snapshot = None
        self.layout_.clear()
        self._placeholder()

    # ------------------------------------------------------------ structure

    def groups(self, snapshot) -> list[list[str]]:
        """Drawn layers as lists of node ids: a node, then the pass-through nodes merged after it."""
        net = self.network
        if net is None:
            return []
        ids = [n for n in self.ordered(snapshot.activations) if net.role_of(n) is not Role.OUTPUT]
        group_of: dict[str, list[str]] = {}
        groups: list[list[str]] = []
        for nid in ids:
            layer = net.layer_of(nid)
            ins = net.inputs_of(nid) if layer is not None else []
            if (
                layer is not None
                and layer.passes_through
                and len(ins) == 1
                and ins[0] in group_of
                and len(net.outputs_of(ins[0])) == 1
                and snapshot.activations[nid].size == snapshot.activations[ins[0]].size
            ):
                g = group_of[ins[0]]
                g.append(nid)
            else:
                g = [nid]
                groups.append(g)
            group_of[nid] = g
        return groups

    def _make_column(self, nodes: list[str], snapshot) -> _Column:
        shape = snapshot.activations[nodes[0]].shape[1:]
        if len(shape) == 3:
            cls = _ImageColumn if self.network.role_of(nodes[0]) is Role.INPUT else _MapsColumn
            return cls(self, nodes, shape)
        return _UnitsColumn(self, nodes, (int(np.prod(shape)),))

    def _rebuild(self, snapshot) -> None:
        self._colours()  # the background may have changed (a dark theme) since the last build
        self.columns, self.links = [], []
        self._last_snapshot = None
        self._header_text = ""
        net = self.network
        if net is None:
            return
        groups = self.groups(snapshot)
        cols = [self._make_column(g, snapshot) for g in groups]
        by_tail = {c.tail: c for c in cols}
        outputs = [n for n in snapshot.activations if net.role_of(n) is Role.OUTPUT]
        for o in outputs:
            for src in net.inputs_of(o):
                if src in by_tail:
                    by_tail[src].is_output = True
        # Links, and each column's depth: one more than the deepest column feeding it.
        pending: list[tuple[_Column, _Column, str, int]] = []
        for col in cols:
            layer = net.layer_of(col.head)
            offset = 0
            for src_id in net.inputs_of(col.head):
                src = by_tail.get(src_id)
                if src is None:
                    continue
                col.depth = max(col.depth, src.depth + 1)
                if layer is not None and layer.has_weights and "kernel" in snapshot.params.get(col.head, {}):
                    kind = "conv" if layer.spatial else "dense"
                else:
                    kind = "identity"
                pending.append((src, col, kind, offset))
                if layer is not None and layer.merge == "concat":
                    offset += snapshot.activations[src_id].shape[-1]
        # Columns of equal depth share the height, one above the other.
        depth_cols: dict[int, list[_Column]] = {}
        for col in cols:
            depth_cols.setdefault(col.depth, []).append(col)
        col_gap = self._column_gap(max(depth_cols) + 1 if depth_cols else 1)
        for d, same in depth_cols.items():
            gap = 40.0
            h = (HEIGHT - gap * (len(same) - 1)) / len(same)
            for i, col in enumerate(same):
                col.layout(d * col_gap, (i * (h + gap), i * (h + gap) + h))
        self.columns = cols

        lay = self.layout_
        self.header = ShrinkingLabel("", color=self.ink, size="11pt")
        lay.addItem(self.header, row=0, col=0)
        self.view = lay.addViewBox(row=1, col=0, lockAspect=True, invertY=True, enableMouse=False)
        self.view.setMenuEnabled(False)
        self.legend = ShrinkingLabel(self._legend_text(), color=self.muted, size="9pt")
        lay.addItem(self.legend, row=2, col=0)
        lay.layout.setRowStretchFactor(1, 10)

        for col in cols:
            col.build(self.view)
        top = min(c.top() for c in cols) if cols else 0.0
        lift = top - 80.0  # skip connections arc over the titles
        for src, dst, kind, offset in pending:
            link = _Links(self, src, dst, kind, offset)
            link.build(self.view, lift if dst.depth - src.depth > 1 else None)
            self.links.append(link)
        bounds = QRectF()
        for col in cols:
            # Made with plain text first: an html TextItem never gets a ``color`` (drawing/theme.py's recolouring reads it).
            t = pg.TextItem("", color=self.ink, anchor=(0.5, 1.0), fill=pg.mkBrush(self._title_fill()))
            t.setHtml(col.title_html())
            self._fit_title(t)
            t.setPos(col.x, col.top() - 8)
            t.setZValue(4)
            self.view.addItem(t)
            col.title_item = t
            bounds = bounds.united(col.bounds())
        skip = any(link.lift is not None for link in self.links)
        bounds.setTop(bounds.top() - (85 if skip else 8))  # skip arcs rise above the columns
        bounds.adjust(-70, 0, 70, 10)
        self._bounds = bounds
        self._fit_view()
        self.view.disableAutoRange()
        # The view gets its final size only after the layout settles (and with every resize):
        # fit the whole drawing again then, or a locked aspect would crop one side.
        self.view.sigResized.connect(self._on_view_resized)

    def _on_view_resized(self, view) -> None:
        if view is self.view:
            self._fit_view()

    def _fit_view(self) -> None:
        """Show the whole drawing, with room above it for the layer titles (text keeps its pixel size)."""
        b, view = self._bounds, self.view
        if b is None or view is None:
            return
        w, h = max(1.0, view.width()), max(1.0, view.height())
        scale = max(1e-6, min((h - TITLE_PX) / b.height(), w / b.width()))  # pixels per scene unit
        view.setRange(b.adjusted(0, -TITLE_PX / scale, 0, 0), padding=0.0)

    # ------------------------------------------------------------ values

    def _update(self, snapshot) -> None:
        if not self.columns:
            return
        new = snapshot is not self._last_snapshot
        self._last_snapshot = snapshot
        s = self.selected_sample
        for col in self.columns:
            col.update(snapshot.activations[col.tail], s, new)
        for link in self.links:
            link.update(snapshot, new)
        self._set_header(snapshot, s)

    def _set_header(self, snapshot, s: int) -> None:
        n = len(snapshot.probe_y)
        if not n:
            return
        y = int(snapshot.probe_y[s])
        text = f"sample {s} of {n} · label <b>{self.class_name(y)}</b>"
        probs = snapshot.probabilities
        if probs is not None and len(probs) > s and probs.ndim == 2:
            k = int(np.argmax(probs[s]))
            mark = "✓" if k == y else "✗"
            text += f" · predicted <b>{self.class_name(k)}</b> ({probs[s, k]:.0%}) {mark}"
        if text != self._header_text:
            self._header_text = text
            self.header.setText(text, color=self.ink)

    @staticmethod
    def _fit_title(t: pg.TextItem) -> None:
        """Centred lines need a text width: the longest line's."""
        t.setTextWidth(-1)
        t.setTextWidth(t.textItem.document().idealWidth() + 2)

    # ------------------------------------------------------------ hover and controls

    def _hover_fallback(self, scene_pos: QPointF) -> str | None:
        if self.view is None or not self.view.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.view.mapSceneToView(scene_pos)
        for col in self.columns:
            text = col.describe_at(p.x(), p.y())
            if text is not None:
                return text
        return None

    def _on_subset_box_changed(self, index: int) -> None:
        for col in self.columns:
            if isinstance(col, _UnitsColumn) and col.n > MAX_UNITS:
                col.title_item.setHtml(col.title_html())
                self._fit_title(col.title_item)
        if self.snapshot is not None and self.columns:
            self._update(self.snapshot)
