"""load_dataset: generate, read or download what a DatasetSpec describes, then split it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .catalogue import entry
from .csvfile import dataset_from_csv
from .dataset import Dataset
from .download import CancelFn, ProgressFn, ensure_image_files
from .errors import DatasetError
from .idx import idx_paths, load_idx_folder
from .labels import labels_from_arrays
from .npz import dataset_from_npz
from .spec import DatasetSpec
from .splits import finish, scale_images, split_single
from .toy import make_toy


def load_dataset(
    spec: DatasetSpec,
    data_dir: str | Path | None = None,
    *,
    download: bool = True,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> Dataset:
    """Load and split the dataset described by ``spec``.

    Toy sets are generated; MNIST / Fashion-MNIST come from the data folder (downloaded
    when missing and ``download`` is true); ``"files"`` reads ``spec.path``. Raises
    :class:`DatasetError` (or :class:`DownloadCancelled`) with a user-facing message.

    ``progress(filename, bytes_done, bytes_total)`` is called while downloading
    (``bytes_total`` is 0 when the server does not say); ``cancel()`` is polled per chunk
    and a true result aborts with :class:`DownloadCancelled`. Both are called from the
    thread that runs this function.
    """
    if not isinstance(spec, DatasetSpec):
        raise DatasetError(f"Expected a DatasetSpec, got {type(spec).__name__}.")
    problems = spec.validate()
    if problems:
        raise DatasetError("Invalid dataset settings:\n  " + "\n  ".join(problems))
    # A stream separate from make_toy's: make_toy(name, n, noise, seed) shows exactly the
    # points that load_dataset splits, and the split doesn't perturb generation.
    split_rng = np.random.default_rng((spec.seed, 1))
    e = entry(spec.name)
    if e.kind == "toy2d":
        x, y = make_toy(spec.name, spec.n_samples, spec.noise, spec.seed)
        x_tr, y_tr, x_te, y_te = split_single(x, y, spec, split_rng)
    elif e.kind == "image":
        folder = ensure_image_files(spec.name, data_dir, download=download, progress=progress, cancel=cancel)
        x_tr, y_tr, x_te, y_te = load_idx_folder(folder, expect=e)
    else:
        return load_files(spec, split_rng)
    return finish(spec.name, e.kind, e.class_names, x_tr, y_tr, x_te, y_te, spec, split_rng)


def load_files(spec: DatasetSpec, rng) -> Dataset:
    """The user's files at ``spec.path``: an IDX folder, a .npz or a CSV (by suffix)."""
    path = Path(spec.path).expanduser()
    name = path.stem if path.suffix else path.name
    if path.is_dir():
        x_tr, y_tr, x_te, y_te = load_idx_folder(path)
        label_files = idx_paths(path)
        (y_tr, y_te), names = labels_from_arrays(
            [y_tr, y_te], str(path), [str(label_files[1]), str(label_files[3])]
        )
        if x_tr.ndim == 2:
            return finish(
                name,
                "toy2d" if x_tr.shape[1] == 2 else "table",
                names,
                x_tr.astype(np.float64),
                y_tr,
                x_te.astype(np.float64),
                y_te,
                spec,
                rng,
                scale_minmax=True,
            )
        x_tr, x_te = scale_images(x_tr, x_te)
        return finish(name, "image", names, x_tr, y_tr, x_te, y_te, spec, rng)
    if not path.exists():
        raise DatasetError(f"{path} does not exist.")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return dataset_from_npz(path, name, spec, rng)
    if suffix in (".csv", ".tsv", ".txt"):
        return dataset_from_csv(path, name, spec, rng)
    raise DatasetError(
        f"{path}: unsupported file type '{path.suffix}'. Choose a folder with IDX files, "
        f"a .npz file or a .csv file."
    )
