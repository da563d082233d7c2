"""CSV files: the label in the first column, the features in the rest.

Rows are numbered as a spreadsheet shows them: the file's first line is row 1 (the
header, when there is one), blank lines count, and every message uses these numbers.
Columns count from 1 too, the label being column 1. Cells are read with the csv module,
so a quoted cell may hold the delimiter ("setosa, large").
"""

from __future__ import annotations

import csv
import itertools
import re
from pathlib import Path

import numpy as np

from .dataset import Dataset
from .errors import DatasetError
from .labels import is_number, labels_from_strings
from .splits import check_values, finish, split_single

DELIMITERS = (",", ";", "\t")
CSV_BLOCK = 4096  # rows turned into numbers at a time: a big file's cells never all live as strings


def _numbers(block: list[list[str]], rows: list[int]) -> np.ndarray:
    """The feature cells of some rows as float64; a DatasetError naming the first that is not a number."""
    try:
        return np.array(block, dtype=np.float64)
    except ValueError:
        for row, cells in zip(rows, block):
            for col, cell in enumerate(cells, start=2):
                if not is_number(cell):
                    raise DatasetError(
                        f"row {row}, column {col} holds '{cell.strip()[:40]}', which is not a number "
                        f"(every column but the first must be numeric; write decimals with a point)."
                    ) from None
        raise


def _rows(text: str, delim: str):
    """(row number, cells) for every non-blank record; the row number of its first line."""
    reader = csv.reader(text.splitlines(), delimiter=delim, quotechar='"', skipinitialspace=True)
    line = 1
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1
            if any(c.strip() for c in cells):
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
    unquoted = re.sub(r'"[^"]*"', "", first_line)  # a quoted cell may hold another delimiter
    delim = next((d for d in DELIMITERS if d in unquoted), None)
    if delim is None:
        raise DatasetError(
            f"{path}: the first line has no comma, semicolon or tab; a dataset CSV needs a label "
            f"column followed by at least one feature column."
        )
    records = _rows(text, delim)
    try:
        first_row, first = next(records, (first_line, None))
        if first is None:  # only empty quoted cells
            raise DatasetError("it holds no values.")
        first = [c.strip() for c in first]
        ncol = len(first)
        if ncol < 2:
            raise DatasetError(
                f"row {first_row} has one cell; a dataset CSV needs a label column followed by "
                f"at least one feature column."
            )
        rows, labels, blocks = [], [], []
        block: list[list[str]] = []
        # A header by its feature cells is known at once; one by its label only at the end.
        header = not all(is_number(c) for c in first[1:])
        body = records if header else itertools.chain([(first_row, first)], records)
        for row, cells in body:
            if len(cells) != ncol:
                raise DatasetError(
                    f"row {row} has {len(cells)} cells but row {first_row} has {ncol} "
                    f"(all rows must have the same number of columns)."
                )
            label = cells[0].strip()
            if label == "":
                raise DatasetError(f"row {row} has an empty label (column 1).")
            rows.append(row)
            labels.append(label)
            block.append(cells[1:])
            if len(block) == CSV_BLOCK:
                blocks.append(_numbers(block, rows[-len(block) :]))
                block = []
        if block:
            blocks.append(_numbers(block, rows[-len(block) :]))
    except DatasetError as e:
        raise DatasetError(f"{path}: {e}") from None
    x = np.concatenate(blocks) if blocks else np.zeros((0, ncol - 1))
    if not header and is_header(first, set(labels[1:])):
        header, rows, labels, x = True, rows[1:], labels[1:], x[1:]
    if not rows:
        raise DatasetError(f"{path} has a header row but no data rows.")
    rows = np.array(rows, np.int64)
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
