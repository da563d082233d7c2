"""Convolution at work: every conv layer's kernels and feature maps, and each pooling layer's input and output."""

from __future__ import annotations

import numpy as np

from ...core.layers import Role
from .description import PanelDescription, has_spatial_layers
from .drawing.colors import INK, MUTED, diverging_cmap, gray_cmap, sequential_cmap
from .drawing.mosaic import Mosaic
from .drawing.plots import add_label, colorbar, fmt, image_view
from .drawing.scales import SymmetricLevels
from .panel import Panel

MAX_IN_CHANNELS = 16  # kernel rows shown per conv layer; deeper inputs are cut (the readout says so)
ROW_HEIGHT = 210
MAP_QUANTILE = 0.995


def _maps(act: np.ndarray) -> np.ndarray:
    """(H, W, C) feature maps -> (C, H, W) tiles."""
    return np.moveaxis(act, -1, 0)


def _as_maps(acts: np.ndarray) -> np.ndarray:
    """A batch of feature maps (N, H, W, C) as it is; one value per map (N, C) as maps of 1×1."""
    return acts[:, None, None, :] if acts.ndim == 2 else acts


_REDUCTION_WORDS = {"max": "max", "mean": "average"}


class _MapRow:
    """One mosaic of feature maps with its levels and colour bar."""

    def __init__(self, panel: ConvPanel, node_id: str, shape, nonneg: bool, row: int, col: int, title: str):
        h, w, c = shape
        self.node_id = node_id
        self.mosaic = Mosaic(c, h, w)
        self.nonneg = nonneg
        lay = panel.layout_
        add_label(lay, title, row=row, col=col, colspan=2, color=MUTED, size="9pt")
        self.view, self.image = image_view(lay, row=row + 1, col=col)
        self.view.setMinimumHeight(ROW_HEIGHT - 40)
        self.image.setColorMap(sequential_cmap() if nonneg else diverging_cmap())
        self.bar = colorbar(sequential_cmap() if nonneg else diverging_cmap(), self.image, width=10)
        lay.addItem(self.bar, row=row + 1, col=col + 1)

    def levels(self, scale: float) -> tuple[float, float]:
        return (0.0, scale) if self.nonneg else (-scale, scale)

    def show(self, act: np.ndarray, levels) -> None:
        self.image.setImage(self.mosaic.compose(_maps(act)), levels=levels, autoLevels=False)
        self.bar.setLevels(levels)


class ConvPanel(Panel):
    """Kernels of every conv layer as one mosaic per layer, its feature maps for the selected sample, and pooling."""

    description = PanelDescription(
        "conv",
        "Convolution",
        "Kernels, feature maps and pooling (networks with convolutions)",
        applies=has_spatial_layers,
        leads=2,
    )
    scrolls = True

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.conv_ids: list[str] = []
        self.pool_ids: list[str] = []

    def _rebuild(self, snapshot) -> None:
        acts = snapshot.activations
        order = self.ordered(acts)
        self.conv_ids = [n for n in order if n in snapshot.params and snapshot.params[n]["kernel"].ndim == 4]
        self.pool_ids = [
            n
            for n in order
            if self.network.role_of(n) is Role.POOLING
            and self.network.inputs_of(n)
            and self.network.inputs_of(n)[0] in acts
        ]
        self.kernels: dict[str, tuple] = {}
        self.maps: dict[str, _MapRow] = {}
        self.pools: dict[str, tuple[_MapRow, _MapRow]] = {}
        self.kernel_levels = {n: SymmetricLevels() for n in self.conv_ids}
        self.map_levels: dict[str, SymmetricLevels] = {}
        lay = self.layout_
        self.input_image = None
        if not self.conv_ids and not self.pool_ids:
            add_label(lay, "This network has no convolution or pooling layer.", color=INK, size="12pt")
            self.graphics.setMinimumHeight(0)
            return
        row = 0
        x = snapshot.probe_x
        if x.ndim == 4:
            add_label(lay, "input (selected sample)", row=row, col=0, colspan=2, color=INK, size="11pt")
            self.input_view, self.input_image = image_view(lay, row=row + 1, col=0)
            self.input_view.setMinimumHeight(110)
            self.input_view.setMaximumHeight(130)
            self.input_mosaic = Mosaic(x.shape[3], x.shape[1], x.shape[2], cols=x.shape[3])
            self.input_image.setColorMap(gray_cmap())
            self.add_hover(self.input_image, self._describe_input)
            row += 2
        for nid in order:
            if nid in self.conv_ids:
                k = snapshot.params[nid]["kernel"]
                kh, kw, cin, cout = k.shape
                shown = min(cin, MAX_IN_CHANNELS)
                add_label(
                    lay,
                    f"<b>{self.node_name(nid)}</b>: {cout} filters of {kh}×{kw}×{cin} "
                    f"(activation {self.network.activation_of(nid) or '?'})",
                    row=row,
                    col=0,
                    colspan=4,
                    color=INK,
                    size="11pt",
                )
                add_label(
                    lay,
                    (
                        "kernels: one column per filter, one row per input channel"
                        if shown > 1
                        else "kernels, one per filter"
                    )
                    + (f" (first {shown} of {cin})" if shown < cin else ""),
                    row=row + 1,
                    col=0,
                    colspan=2,
                    color=MUTED,
                    size="9pt",
                )
                # one input channel: a compact grid; several: a row per channel, a column per filter
                mos = Mosaic(shown * cout, kh, kw, cols=cout if shown > 1 else None)
                vb, img = image_view(lay, row=row + 2, col=0)
                vb.setMinimumHeight(ROW_HEIGHT - 40)
                img.setColorMap(diverging_cmap())
                bar = colorbar(diverging_cmap(), img, width=10)
                lay.addItem(bar, row=row + 2, col=1)
                self.kernels[nid] = (mos, img, bar, shown)
                self.add_hover(img, lambda r, c, nid=nid: self._describe_kernel(nid, r, c))
                a = snapshot.activations[nid]
                m = _MapRow(
                    self,
                    nid,
                    a.shape[1:],
                    bool(np.nanmin(a) >= 0),
                    row + 1,
                    2,
                    "feature maps of the selected sample",
                )
                self.maps[nid] = m
                self.map_levels[nid] = SymmetricLevels(quantile=MAP_QUANTILE)
                self.add_hover(m.image, lambda r, c, m=m: self._describe_map(m, r, c))
                row += 3
            elif nid in self.pool_ids:
                src = self.network.inputs_of(nid)[0]
                a_in, a_out = snapshot.activations[src], _as_maps(snapshot.activations[nid])
                nonneg = bool(np.nanmin(a_in) >= 0)
                node = self.network.nodes[nid]
                kind = _REDUCTION_WORDS.get(node.layer.reduce, str(node.layer.reduce))
                settings = "".join(f", {p.name} {node.params.get(p.name)}" for p in node.layer.params)
                add_label(
                    lay,
                    f"<b>{node.name}</b>: {kind} pooling{settings}: {a_in.shape[1]}×{a_in.shape[2]} → "
                    f"{a_out.shape[1]}×{a_out.shape[2]}",
                    row=row,
                    col=0,
                    colspan=4,
                    color=INK,
                    size="11pt",
                )
                left = _MapRow(
                    self, src, a_in.shape[1:], nonneg, row + 1, 0, f"input ({self.node_name(src)})"
                )
                right = _MapRow(self, nid, a_out.shape[1:], nonneg, row + 1, 2, f"output ({kind} pooled)")
                self.pools[nid] = (left, right)
                self.map_levels[nid] = SymmetricLevels(quantile=MAP_QUANTILE)
                for m in (left, right):
                    self.add_hover(m.image, lambda r, c, m=m: self._describe_map(m, r, c))
                row += 3
        self.graphics.setMinimumHeight(
            int(row / 3 * ROW_HEIGHT + (130 if self.input_image is not None else 0))
        )

    def _update(self, snapshot) -> None:
        s = self.selected_sample
        acts = snapshot.activations
        if self.input_image is not None:
            x = snapshot.probe_x[s]
            self.input_image.setImage(
                self.input_mosaic.compose(_maps(x)), levels=(0.0, 1.0), autoLevels=False
            )
        for nid, (mos, img, bar, shown) in self.kernels.items():
            k = snapshot.params[nid]["kernel"]
            levels = self.kernel_levels[nid].update(k)
            tiles = np.transpose(k[:, :, :shown, :], (2, 3, 0, 1)).reshape(-1, k.shape[0], k.shape[1])
            img.setImage(mos.compose(tiles), levels=levels, autoLevels=False)
            bar.setLevels(levels)
        for nid, m in self.maps.items():
            a = acts[nid][s]
            self.map_levels[nid].update(acts[nid])
            m.show(a, m.levels(self.map_levels[nid].level))
        for nid, (left, right) in self.pools.items():
            # Input and output share levels, so max pooling looks as bright as its input and
            # average pooling visibly dimmer.
            a_in = acts[left.node_id]
            self.map_levels[nid].update(a_in)
            levels = left.levels(self.map_levels[nid].level)
            left.show(a_in[s], levels)
            right.show(_as_maps(acts[nid])[s], levels)

    # ------------------------------------------------------------ hover

    def _describe_input(self, r, c):
        hit = self.input_mosaic.locate(r, c)
        if hit is None:
            return None
        ch, y, x = hit
        return f"input pixel (row {y}, col {x}, channel {ch}) = {fmt(float(self.input_image.image[r, c]))}"

    def _describe_kernel(self, nid, r, c):
        mos, img, _, _ = self.kernels[nid]
        hit = mos.locate(r, c)
        if hit is None:
            return None
        i, y, x = hit
        ch, f = divmod(i, mos.cols)
        return (
            f"{self.node_name(nid)} filter {f}, input channel {ch}, weight ({y}, {x}) = "
            f"{fmt(float(img.image[r, c]))}"
        )

    def _describe_map(self, m: _MapRow, r, c):
        hit = m.mosaic.locate(r, c)
        if hit is None:
            return None
        i, y, x = hit
        return (
            f"{self.node_name(m.node_id)} channel {i} at (row {y}, col {x}), sample {self.selected_sample}: "
            f"{fmt(float(m.image.image[r, c]))}"
        )
