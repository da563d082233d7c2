"""CSV files: the label in the first column, the features in the rest.

Rows are numbered as a spreadsheet shows them: the file's first line is row 1 (the
header, when there is one), blank lines count, and every message uses these numbers.
Columns count from 1 too, the label being column 1. Cells are read with the csv module,
so a quoted cell may hold the delimiter ("setosa, large").
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .dataset import Dataset
from .errors import DatasetError
from .labels import is_number, labels_from_strings
from .splits import check_values, finish, split_single

DELIMITERS = (",", ";", "\t")


def _rows(text: str, delim: str):
    """(row number, cells) for every non-blank record; the row number of its first line."""
    reader = csv.reader(text.splitlines(), delimiter=delim, quotechar='"', skipinitialspace=True)
    line = 1
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1
            cells = [c.strip() for c in cells]
            if any(cells):
                yield start, cells
    except csv.Error as e:
        raise DatasetError(f"row {line}: {e}") from None


def is_header(first: list[str], labels_after: list[str]) -> bool:
    """Whether the first row names the columns instead of holding a sample.

    It does when one of its feature cells is not a number ("label,x,y"), or when its
    label cell is a word and no other row has that label: a header with numbered
    columns ("label,0,1,...,783") is not read as a class called "label", while a file of
    named classes without a header keeps its first sample.
    """
    if not all(is_number(c) for c in first[1:]):
        return True
    return not is_number(first[0]) and first[0] not in labels_after


def load_csv(path):
    """Read a CSV with the label in the first column and features in the rest.

    The header row is detected by :func:`is_header`. Returns ``(x, labels)``: x float64
    (N, F); labels as a list of stripped strings (class names may be words). Delimiter:
    comma, semicolon or tab, whichever the first line has.
    """
    x, labels, _ = read_csv(path)
    return x, labels


def read_csv(path):
    """:func:`load_csv` plus each sample's row number, for messages."""
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
    first_line = next((ln for ln in text.splitlines() if ln.strip()), None)
    if first_line is None:
        raise DatasetError(f"{path} is empty.")
    delim = next((d for d in DELIMITERS if d in first_line), None)
    if delim is None:
        raise DatasetError(
            f"{path}: the first line has no comma, semicolon or tab; a dataset CSV needs a label "
            f"column followed by at least one feature column."
        )
    try:
        records = list(_rows(text, delim))
    except DatasetError as e:
        raise DatasetError(f"{path}: {e}") from None
    first_row, first = records[0]
    ncol = len(first)
    if ncol < 2:
        raise DatasetError(
            f"{path}: row {first_row} has one cell; a dataset CSV needs a label column followed by "
            f"at least one feature column."
        )
    header = is_header(first, [cells[0] for _, cells in records[1:]])
    body = records[1:] if header else records
    if not body:
        raise DatasetError(f"{path} has a header row but no data rows.")
    rows = np.array([r for r, _ in body], np.int64)
    x = np.empty((len(body), ncol - 1), np.float64)
    labels = []
    for i, (row, cells) in enumerate(body):
        if len(cells) != ncol:
            raise DatasetError(
                f"{path}: row {row} has {len(cells)} cells but row {first_row} has {ncol} "
                f"(all rows must have the same number of columns)."
            )
        if cells[0] == "":
            raise DatasetError(f"{path}: row {row} has an empty label (column 1).")
        labels.append(cells[0])
        try:
            x[i] = cells[1:]
        except ValueError:
            col = next(j for j, c in enumerate(cells[1:], start=2) if not is_number(c))
            raise DatasetError(
                f"{path}: row {row}, column {col} holds '{cells[col - 1][:40]}', which is not a number "
                f"(every column but the first must be numeric; write decimals with a point)."
            ) from None
    check_values(x, str(path), lambda i: f"row {rows[i]}")
    return x, labels, rows


def dataset_from_csv(path: Path, name, spec, rng) -> Dataset:
    x, labels, rows = read_csv(path)
    y, names = labels_from_strings(labels, str(path), lambda i: f"row {rows[i]}")
    x_tr, y_tr, x_te, y_te = split_single(x, y, spec, rng)
    if x.shape[1] == 28 * 28:
        # A flattened 28x28 image per row (e.g. the Kaggle MNIST CSVs).
        scale = 255.0 if float(x.max()) > 1.0 else 1.0
        x_tr = (x_tr / scale).reshape(-1, 28, 28, 1)
        x_te = (x_te / scale).reshape(-1, 28, 28, 1)
        return finish(name, "image", names, x_tr, y_tr, x_te, y_te, spec, rng)
    kind = "toy2d" if x.shape[1] == 2 else "table"
    return finish(name, kind, names, x_tr, y_tr, x_te, y_te, spec, rng, scale_minmax=True)
