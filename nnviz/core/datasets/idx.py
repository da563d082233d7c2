"""IDX files (the MNIST format): reading one file, and a folder of the four."""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from .catalogue import IDX_FILES, DatasetEntry
from .checksums import verified_paths
from .errors import DatasetError
from .splits import check_values

_IDX_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_maybe_gz(path: Path) -> bytes:
    """File bytes, transparently gunzipped (detected by magic, not by file name)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path} does not exist.") from None
    except IsADirectoryError:
        raise DatasetError(f"{path} is a folder, not a file.") from None
    except OSError as e:
        raise DatasetError(f"Cannot read {path}: {e.strerror or e}.") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise DatasetError(f"{path} is a damaged or truncated gzip file ({e}).") from None
    return data


def load_idx(path) -> np.ndarray:
    """Read a gz or raw IDX file into a native-endian, writeable numpy array.

    The header is checked strictly (magic, type code, dimension count, exact byte
    length) so a truncated download or a wrong file gives a clear :class:`DatasetError`;
    float data with NaN, inf or values float32 cannot hold is refused, naming the first
    such sample (the first axis).
    """
    path = Path(path)
    data = read_maybe_gz(path)
    if len(data) == 0:
        raise DatasetError(f"{path} is empty.")
    if len(data) < 4:
        raise DatasetError(f"{path} is too short to be an IDX file ({len(data)} bytes).")
    if data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES or data[3] == 0:
        raise DatasetError(
            f"{path} is not an IDX file (bad magic number {data[:4].hex()}; "
            f"expected 0000 + type code + number of dimensions, e.g. 00000803)."
        )
    dtype, ndim = _IDX_TYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{path} is truncated: its header needs {header} bytes, the file has {len(data)}.")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if any(d == 0 for d in dims):
        raise DatasetError(f"{path} holds no data (dimensions {dims}).")
    expected = header + math.prod(dims) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise DatasetError(
            f"{path} is {what}: dimensions {dims} need {expected} bytes, the file has {len(data)}."
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    check_values(arr, str(path))
    return arr.astype(dtype.newbyteorder("="))  # copy: native order and writeable


def idx_paths(folder: Path) -> list[Path] | None:
    """The four IDX files of a folder the user picked (.gz or raw, unchecked); None if one is missing."""
    out = []
    for base in IDX_FILES:
        for cand in (folder / (base + ".gz"), folder / base):
            if cand.is_file():
                out.append(cand)
                break
        else:
            return None
    return out


def load_idx_folder(folder: Path, expect: DatasetEntry | None = None):
    """Read the 4 IDX files of a folder; check counts and shapes.

    With ``expect`` (a catalogue image set), only its verified files are read.
    Returns ``(train images, train labels, test images, test labels)``.
    """
    if expect is not None:
        paths = verified_paths(folder, expect)
        if paths is None:  # changed on disk since ensure_image_files
            raise DatasetError(f"The {expect.title} files in {folder} changed while loading; try again.")
    else:
        paths = idx_paths(folder)
        if paths is None:
            subs = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
            hint = f" It has the subfolder(s) {', '.join(subs)}; pick one of them." if subs else ""
            raise DatasetError(
                f"{folder} does not contain the four IDX files "
                f"({', '.join(b + '[.gz]' for b in IDX_FILES)}).{hint}"
            )
    xi_tr, yl_tr, xi_te, yl_te = (load_idx(p) for p in paths)
    for xi, yl, pi, pl in ((xi_tr, yl_tr, paths[0], paths[1]), (xi_te, yl_te, paths[2], paths[3])):
        if yl.ndim != 1:
            raise DatasetError(f"{pl} should hold one label per sample but has shape {yl.shape}.")
        if xi.ndim not in (2, 3, 4):
            raise DatasetError(f"{pi} should hold images (N, H, W) but has shape {xi.shape}.")
        if len(xi) != len(yl):
            raise DatasetError(
                f"{pi.name} has {len(xi)} images but {pl.name} has {len(yl)} labels (in {pl.parent})."
            )
    if xi_tr.shape[1:] != xi_te.shape[1:]:
        raise DatasetError(
            f"{paths[0].name} has samples of shape {xi_tr.shape[1:]} but {paths[2].name} has "
            f"{xi_te.shape[1:]} (in {folder})."
        )
    if xi_tr.ndim == 3:
        xi_tr, xi_te = xi_tr[..., None], xi_te[..., None]
    return xi_tr, yl_tr, xi_te, yl_te
