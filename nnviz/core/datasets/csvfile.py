"""CSV files: the label in the first column, the features in the rest."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .dataset import Dataset
from .errors import DatasetError
from .labels import is_number, labels_from_strings
from .splits import finish, split_single


def load_csv(path):
    """Read a CSV with the label in the first column and features in the rest.

    A header row is detected (any non-numeric feature cell in the first line).
    Returns ``(x, labels)``: x float64 (N, F); labels as a list of stripped strings
    (class names may be words). Delimiter: comma, semicolon or tab.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path} does not exist.") from None
    except OSError as e:
        raise DatasetError(f"Cannot read {path}: {e.strerror or e}.") from None
    if b"\x00" in raw[:4096]:
        raise DatasetError(f"{path} is not a text CSV file (it contains binary data).")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DatasetError(f"{path} is not UTF-8 text (byte {e.start}).") from None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise DatasetError(f"{path} is empty.")
    first = lines[0]
    delim = next((d for d in (",", ";", "\t") if d in first), None)
    if delim is None:
        raise DatasetError(
            f"{path}: the first line has no comma, semicolon or tab; a dataset CSV needs a label "
            f"column followed by at least one feature column."
        )
    cells = [c.strip().strip('"').strip() for c in first.split(delim)]
    start = 1 if not all(is_number(c) for c in cells[1:]) else 0
    body = lines[start:]
    if not body:
        raise DatasetError(f"{path} has a header row but no data rows.")
    ncol = len(cells)
    # Count delimiters per line (fast, C-level) because np.loadtxt with usecols would
    # silently ignore extra cells.
    counts = np.fromiter((ln.count(delim) for ln in body), dtype=np.int64, count=len(body))
    bad = np.flatnonzero(counts != ncol - 1)
    if bad.size:
        i = int(bad[0])
        raise DatasetError(
            f"{path}: row {i + start + 1} has {counts[i] + 1} cells but the first row has {ncol} "
            f"(all rows must have the same number of columns)."
        )
    try:
        x = np.loadtxt(
            body,
            delimiter=delim,
            usecols=range(1, ncol),
            dtype=np.float64,
            quotechar='"',
            ndmin=2,
            encoding=None,
        )
    except ValueError as e:
        raise DatasetError(f"{path}: non-numeric feature value ({e}).") from None
    if not np.isfinite(x).all():
        r = int(np.flatnonzero(~np.isfinite(x).all(axis=1))[0])
        raise DatasetError(f"{path}: row {r + start + 1} has a NaN or infinite feature value.")
    labels = [ln.split(delim, 1)[0].strip().strip('"').strip() for ln in body]
    empty = next((i for i, lab in enumerate(labels) if lab == ""), None)
    if empty is not None:
        raise DatasetError(f"{path}: row {empty + start + 1} has an empty label (first column).")
    return x, labels


def dataset_from_csv(path: Path, name, spec, rng) -> Dataset:
    x, labels = load_csv(path)
    y, names = labels_from_strings(labels, str(path))
    x_tr, y_tr, x_te, y_te = split_single(x, y, spec, rng)
    if x.shape[1] == 28 * 28:
        # A flattened 28x28 image per row (e.g. the Kaggle MNIST CSVs).
        scale = 255.0 if float(x.max()) > 1.0 else 1.0
        x_tr = (x_tr / scale).reshape(-1, 28, 28, 1)
        x_te = (x_te / scale).reshape(-1, 28, 28, 1)
        return finish(name, "image", names, x_tr, y_tr, x_te, y_te, spec, rng)
    kind = "toy2d" if x.shape[1] == 2 else "table"
    return finish(name, kind, names, x_tr, y_tr, x_te, y_te, spec, rng, scale_minmax=True)
