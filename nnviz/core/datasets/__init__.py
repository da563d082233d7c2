"""Datasets for nnviz: TensorFlow-Playground toy sets, MNIST / Fashion-MNIST, user files.

Everything here is plain Python + numpy so that the GUI, the engine and the tests can
share one loader. Errors that a user can cause (missing, corrupt or odd files, failed
downloads) are raised as :class:`DatasetError` with a message that names the file and
says what is wrong, because the GUI shows that message verbatim in a dialog.

What a user's file may not hold, refused on load with the file and the first bad sample
named: NaN, inf or values float32 cannot hold (also after scaling; ``splits.check_values``),
a class number far beyond the others such as 255 among 0..9, and a test class no
training sample has (``labels``). CSV rows are numbered as a spreadsheet shows them.

Where things live:

- ``catalogue``: every dataset nnviz knows (names, class names, files, checksums, mirrors);
- ``spec`` (:class:`DatasetSpec`, what to load) and ``dataset`` (:class:`Dataset`, what was
  loaded); ``loader``: :func:`load_dataset`, which turns the first into the second;
- ``toy``: the 2-D sets generated with numpy;
- ``idx``, ``npz``, ``csvfile``: the file formats, ``labels``: their labels to 0..K-1,
  ``splits``: train / validation / test and scaling;
- ``folders``: the cache and data folders, and :func:`find_data_dir`, where tests,
  benchmarks and tools find the official files; ``checksums``: verifying local files;
  ``download``: fetching the official files (pooch).

Data layout (same as ``../shared/datasets`` in development)::

    <data dir>/mnist/train-images-idx3-ubyte.gz   (or the decompressed file)
    <data dir>/mnist/train-labels-idx1-ubyte.gz
    <data dir>/mnist/t10k-images-idx3-ubyte.gz
    <data dir>/mnist/t10k-labels-idx1-ubyte.gz
    <data dir>/fashion-mnist/...                  (same four names)

The app's data dir is ``data_dir`` if given, else ``$NNVIZ_DATA_DIR``, else the per-user
cache folder (:func:`default_cache_dir`). Tests, benchmarks and tools also look in
``../shared/datasets`` beside a source checkout (:func:`find_data_dir`); the app never does.
"""

from .catalogue import (
    CATALOGUE,
    IDX_FILES,
    IMAGE_DATASETS,
    TOY_DATASETS,
    DataFile,
    DatasetEntry,
    entry,
    input_shape,
    n_classes,
    names,
    title,
)
from .csvfile import load_csv
from .dataset import Dataset
from .download import ensure_image_files
from .errors import DatasetError, DownloadCancelled
from .folders import data_dir_candidates, default_cache_dir, find_data_dir, resolve_data_dir
from .idx import load_idx
from .loader import load_dataset
from .npz import load_npz
from .spec import DATASET_SETTINGS, DatasetSpec
from .toy import make_toy

__all__ = [
    "CATALOGUE",
    "DatasetEntry",
    "DataFile",
    "entry",
    "names",
    "input_shape",
    "n_classes",
    "title",
    "IDX_FILES",
    "DatasetError",
    "DownloadCancelled",
    "TOY_DATASETS",
    "IMAGE_DATASETS",
    "DatasetSpec",
    "DATASET_SETTINGS",
    "Dataset",
    "load_dataset",
    "make_toy",
    "default_cache_dir",
    "resolve_data_dir",
    "find_data_dir",
    "data_dir_candidates",
    "ensure_image_files",
    "load_idx",
    "load_npz",
    "load_csv",
]
