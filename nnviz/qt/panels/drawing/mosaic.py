"""Many small images (kernels, feature maps, samples) laid out as one image, in a reused buffer."""

from __future__ import annotations

import math

import numpy as np


class Mosaic:
    """Lays out n tiles of h x w in a grid with 1-pixel gaps (NaN, drawn transparent).

    The output buffer is reused between calls, so updating a mosaic allocates nothing.
    """

    def __init__(
        self, n: int, h: int, w: int, cols: int | None = None, pad: int = 1, flip: bool = False
    ) -> None:
        self.n, self.h, self.w, self.pad, self.flip = n, h, w, pad, flip
        if cols is None:
            # Close to square on screen: as many columns as make rows ~ columns in pixels.
            cols = max(1, min(n, int(math.ceil(math.sqrt(n * h / max(w, 1))))))
        self.cols = max(1, min(cols, n))
        self.rows = int(math.ceil(n / self.cols))
        self.shape = (self.rows * (h + pad) - pad, self.cols * (w + pad) - pad)
        self.buffer = np.full(self.shape, np.nan, np.float32)
        self.background: int | tuple[int, ...] = (
            255  # the gaps of a uint8 mosaic (white; a dark theme's paper)
        )

    def set_background(self, value) -> None:
        """The colour of the gaps between uint8 tiles (a grey level, or RGB for colour tiles)."""
        if value != self.background:
            self.background = value
            self.buffer = np.zeros((0, 0))  # made anew, with the new gaps, by the next compose

    def origin(self, i: int) -> tuple[int, int]:
        r, c = divmod(i, self.cols)
        return r * (self.h + self.pad), c * (self.w + self.pad)

    def tile(self, image: np.ndarray, i: int) -> np.ndarray:
        """Tile ``i`` cut back out of a mosaic image (as the caller gave it, unflipped)."""
        y, x = self.origin(i)
        t = image[y : y + self.h, x : x + self.w]
        return t[::-1] if self.flip else t

    def compose(self, tiles: np.ndarray) -> np.ndarray:
        """``tiles`` is (n, h, w) or (n, h, w, channels); returns the mosaic (the shared buffer)."""
        buf = self.buffer
        if (
            buf.shape[:2] != self.shape
            or buf.shape[2:] != tiles.shape[3:]
            or buf.dtype != tiles.dtype
            and tiles.dtype == np.uint8
        ):
            fill = self.background if tiles.dtype == np.uint8 else np.nan
            self.buffer = buf = np.full(
                self.shape + tiles.shape[3:], fill, np.uint8 if tiles.dtype == np.uint8 else np.float32
            )
        for i in range(self.n):
            y, x = self.origin(i)
            buf[y : y + self.h, x : x + self.w] = tiles[i][::-1] if self.flip else tiles[i]
        return buf

    def locate(self, row: int, col: int) -> tuple[int, int, int] | None:
        """(tile index, y, x inside the tile) under a mosaic pixel, or None in a gap."""
        if not (0 <= row < self.shape[0] and 0 <= col < self.shape[1]):
            return None
        r, y = divmod(row, self.h + self.pad)
        c, x = divmod(col, self.w + self.pad)
        i = r * self.cols + c
        if y >= self.h or x >= self.w or i >= self.n:
            return None
        return i, (self.h - 1 - y if self.flip else y), x
