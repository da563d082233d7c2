"""Datasets for nnviz: TensorFlow-Playground toy sets, MNIST / Fashion-MNIST, user files.

Everything here is plain Python + numpy so that the GUI, the engine and the tests can
share one loader. Errors that a user can cause (missing, corrupt or odd files, failed
downloads) are raised as :class:`DatasetError` with a message that names the file and
says what is wrong, because the GUI shows that message verbatim in a dialog.

Data layout (same as ``../shared/datasets`` in development)::

    <data dir>/mnist/train-images-idx3-ubyte.gz   (or the decompressed file)
    <data dir>/mnist/train-labels-idx1-ubyte.gz
    <data dir>/mnist/t10k-images-idx3-ubyte.gz
    <data dir>/mnist/t10k-labels-idx1-ubyte.gz
    <data dir>/fashion-mnist/...                  (same four names)

The data dir is ``data_dir`` if given, else ``$NNVIZ_DATA_DIR``, else the per-user cache
folder (:func:`default_cache_dir`).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.client
import math
import os
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "DatasetError",
    "DownloadCancelled",
    "TOY_DATASETS",
    "IMAGE_DATASETS",
    "DatasetSpec",
    "Dataset",
    "load_dataset",
    "make_toy",
    "default_cache_dir",
    "resolve_data_dir",
    "ensure_image_files",
    "load_idx",
    "load_npz",
    "load_csv",
    "IMAGE_FILES",
    "CHECKSUMS",
    "MIRRORS",
    "CLASS_NAMES",
]

ProgressFn = Callable[[str, int, int], None]
CancelFn = Callable[[], bool]


class DatasetError(Exception):
    """A clear, user-facing message that names the file and what is wrong.

    Every failure a user can cause (missing/corrupt file, failed download, impossible
    settings) ends up as this type so the GUI can catch one exception and show its text.
    """


class DownloadCancelled(DatasetError):
    """The user cancelled a download via the ``cancel`` callback; no partial file is left."""


TOY_DATASETS = ("circle", "xor", "gauss", "spiral")
IMAGE_DATASETS = ("mnist", "fashion-mnist")
_ALL_NAMES = TOY_DATASETS + IMAGE_DATASETS + ("files",)

# Class 0 / 1 of the toy sets follow TensorFlow Playground's colours: label -1 is drawn
# orange, +1 blue.
TOY_CLASS_NAMES = ("orange", "blue")

CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "mnist": tuple(str(i) for i in range(10)),
    "fashion-mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
}

# The four official files, in the order (train images, train labels, test images, test labels).
IMAGE_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

# Pinned sha256 of the official .gz files (the values Keras/torchvision pin, copied from
# shared/datasets/*/SHA256SUMS) and of the decompressed IDX files (from its README; those
# let us accept a mirror or distro package that re-compressed the same content).
CHECKSUMS: dict[str, dict[str, dict[str, str]]] = {
    "mnist": {
        "train-images-idx3-ubyte": {
            "gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "raw": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        },
        "train-labels-idx1-ubyte": {
            "gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "raw": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        },
        "t10k-images-idx3-ubyte": {
            "gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "raw": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        },
        "t10k-labels-idx1-ubyte": {
            "gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            "raw": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": {
            "gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "raw": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        },
        "train-labels-idx1-ubyte": {
            "gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "raw": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        },
        "t10k-images-idx3-ubyte": {
            "gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "raw": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        },
        "t10k-labels-idx1-ubyte": {
            "gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            "raw": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
    },
}

# Base URLs tried in order; each file is fetched as base + "<name>.gz" and verified
# against CHECKSUMS before it is kept, so a wrong or hijacked mirror cannot feed us data.
MIRRORS: dict[str, list[str]] = {
    "mnist": [
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",  # often answers 403, kept as a last resort
    ],
    "fashion-mnist": [
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ],
}

# Read-only places where a distribution may already have installed the files
# (Debian/Ubuntu `dataset-fashion-mnist`; its gzip headers differ, so those files verify
# by their decompressed checksum).
SYSTEM_DIRS: dict[str, tuple[str, ...]] = {
    "fashion-mnist": ("/usr/share/datasets/fashion-mnist",),
}

DOWNLOAD_TIMEOUT = 30.0  # seconds without data before a mirror counts as failed
_CHUNK = 1 << 16
_MAX_TOY_SAMPLES = 1_000_000

# ---------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class DatasetSpec:
    """What to load: a toy set, an image set or user files, plus how to split it.

    Serialisable with :meth:`to_dict` / :meth:`from_dict` (project files store it).
    Impossible values are reported by :meth:`validate`; :func:`load_dataset` refuses them.
    """

    name: str = "circle"  # one of TOY_DATASETS, IMAGE_DATASETS, or "files"
    n_samples: int = 500  # toy sets only: total points generated
    noise: float = 0.0  # toy sets: 0..0.5 like TensorFlow Playground's slider
    seed: int = 0  # toy generation and split shuffling
    test_ratio: float = 0.5  # toy sets / single-file imports: fraction held out as test
    validation_split: float = 0.0  # fraction of the training part held out as validation
    train_limit: int = 0  # 0 = all; else keep only this many training samples
    path: str = ""  # "files": IDX folder, Keras-style .npz, or a CSV

    def to_dict(self) -> dict:
        """Plain dict of all fields (JSON/msgpack friendly)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d) -> DatasetSpec:
        """Build a spec from a dict; missing keys take defaults.

        Unknown keys or wrong value types raise :class:`DatasetError` rather than being
        ignored, because a silently dropped setting in a project file is hard to debug.
        """
        if not isinstance(d, dict):
            raise DatasetError(f"Dataset settings must be a mapping, got {type(d).__name__}.")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in d if k not in fields)
        if unknown:
            raise DatasetError(
                f"Unknown dataset setting(s): {', '.join(unknown)}. Known settings: {', '.join(fields)}."
            )
        kwargs = {}
        for key, value in d.items():
            msg = _type_problem(key, value)
            if msg:
                raise DatasetError(msg)
            default = getattr(cls, key)
            kwargs[key] = type(default)(value)  # JSON may give 0 for 0.0; store the real type
        return cls(**kwargs)

    def validate(self) -> list[str]:
        """Human-readable messages for impossible values; empty when the spec is usable."""
        types = [m for f in dataclasses.fields(self) if (m := _type_problem(f.name, getattr(self, f.name)))]
        if types:  # range checks below would raise TypeError on wrong types
            return types
        msgs: list[str] = []
        if self.name not in _ALL_NAMES:
            msgs.append(f"Unknown dataset '{self.name}'; choose one of {', '.join(_ALL_NAMES)}.")
        if self.name in TOY_DATASETS:
            if not 4 <= self.n_samples <= _MAX_TOY_SAMPLES:
                msgs.append(
                    f"Number of samples must be between 4 and {_MAX_TOY_SAMPLES:,}, got {self.n_samples}."
                )
        if not 0.0 <= self.noise <= 0.5:  # also catches NaN
            msgs.append(f"Noise must be between 0 and 0.5, got {self.noise}.")
        if self.seed < 0:
            msgs.append(f"Seed must be 0 or positive, got {self.seed}.")
        if not 0.0 < self.test_ratio < 1.0:
            msgs.append(f"Test ratio must be between 0 and 1 (exclusive), got {self.test_ratio}.")
        if not 0.0 <= self.validation_split < 1.0:
            msgs.append(f"Validation split must be at least 0 and below 1, got {self.validation_split}.")
        if self.train_limit < 0:
            msgs.append(f"Training limit must be 0 (all) or positive, got {self.train_limit}.")
        if self.name == "files" and not self.path.strip():
            msgs.append("Dataset 'files' needs a path: an IDX folder, a .npz file or a .csv file.")
        return msgs


def _type_problem(key: str, value) -> str | None:
    """A message if ``value`` has the wrong type for DatasetSpec field ``key``, else None."""
    default = getattr(DatasetSpec, key)
    # bool is an int subclass; True as a sample count is a bug, not a value.
    if isinstance(value, bool):
        ok = False
    elif isinstance(default, int):
        ok = isinstance(value, (int, np.integer))
    elif isinstance(default, float):
        ok = isinstance(value, (int, float, np.integer, np.floating))
    else:
        ok = isinstance(value, str)
    if ok:
        return None
    return (
        f"Dataset setting '{key}' must be {type(default).__name__}, got {type(value).__name__} ({value!r})."
    )


# ---------------------------------------------------------------------------- dataset


@dataclass(frozen=True, eq=False)  # eq=False: comparing numpy arrays with == is ambiguous
class Dataset:
    """A loaded, split dataset ready for training.

    ``x_*`` are float32 (images (N, H, W, C) in [0, 1]); ``y_*`` are int32 labels in
    0..n_classes-1. ``x_val``/``y_val`` may have 0 rows. ``kind`` is "toy2d", "image"
    or "table" and tells the GUI how to draw samples.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    kind: str

    def __post_init__(self):
        # Catch wiring mistakes at construction instead of deep inside training.
        for split in ("train", "val", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if len(x) != len(y):
                raise DatasetError(
                    f"Dataset '{self.name}': x_{split} has {len(x)} rows but y_{split} has {len(y)}."
                )
        if self.kind not in ("toy2d", "image", "table"):
            raise DatasetError(f"Dataset '{self.name}': unknown kind '{self.kind}'.")

    @property
    def input_shape(self) -> tuple:
        """Shape of one sample, e.g. (2,) or (28, 28, 1)."""
        return tuple(self.x_train.shape[1:])

    @property
    def n_classes(self) -> int:
        """Number of classes (length of ``class_names``)."""
        return len(self.class_names)

    def __repr__(self) -> str:  # arrays would flood logs; shapes are what matter
        return (
            f"Dataset(name={self.name!r}, kind={self.kind!r}, input_shape={self.input_shape}, "
            f"n_classes={self.n_classes}, train={len(self.x_train)}, val={len(self.x_val)}, "
            f"test={len(self.x_test)})"
        )


# ---------------------------------------------------------------------------- toy sets


def make_toy(name: str, n_samples: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Generate a TensorFlow Playground 2-D set: float32 (N, 2) points, int32 (N,) labels.

    Follows Playground's ``dataset.ts`` (coordinates within about [-6, 6], noise 0..0.5
    scaled the same way). Class 1 is Playground's +1 (blue), class 0 its -1 (orange).
    Classes are exactly balanced (class 1 gets the extra point when N is odd). The
    result is deterministic given ``seed`` and returned in shuffled order.
    """
    if name not in TOY_DATASETS:
        raise DatasetError(f"Unknown toy dataset '{name}'; choose one of {', '.join(TOY_DATASETS)}.")
    n = int(n_samples)
    if n < 2:
        raise DatasetError(f"Toy dataset '{name}' needs at least 2 samples, got {n}.")
    noise = float(noise)
    rng = np.random.default_rng(seed)
    n0 = n // 2
    n1 = n - n0
    gen = {"circle": _circle, "xor": _xor, "gauss": _gauss, "spiral": _spiral}[name]
    x, y = gen(rng, n0, n1, noise)
    perm = rng.permutation(n)
    return x[perm].astype(np.float32), y[perm].astype(np.int32)


def _balanced(rng, n0: int, n1: int, draw) -> tuple[np.ndarray, np.ndarray]:
    """Draw Playground's point process in batches, keep the first n0/n1 of each label.

    Circle and XOR label a point by where its *noisy* copy falls, so class counts would
    drift with noise. Rejection keeps Playground's per-class distribution while fixing
    the class prior at 50/50, so accuracy numbers stay comparable across noise levels.
    """
    got0, got1 = [], []
    c0 = c1 = 0
    while c0 < n0 or c1 < n1:
        m = max(64, 2 * (n0 + n1))
        pts, lab = draw(m)
        p0, p1 = pts[lab == 0][: n0 - c0], pts[lab == 1][: n1 - c1]
        got0.append(p0)
        got1.append(p1)
        c0 += len(p0)
        c1 += len(p1)
    x = np.concatenate(got0 + got1)
    y = np.concatenate([np.zeros(n0, np.int32), np.ones(n1, np.int32)])
    return x, y


def _circle(rng, n0, n1, noise):
    radius = 5.0

    def draw(m):
        # Half from the inner disk (r < 2.5), half from the outer ring (3.5..5), r uniform
        # like Playground (so the disk is denser at its centre).
        inner = rng.random(m) < 0.5
        r = np.where(inner, rng.uniform(0, radius * 0.5, m), rng.uniform(radius * 0.7, radius, m))
        a = rng.uniform(0, 2 * math.pi, m)
        pts = np.stack([r * np.sin(a), r * np.cos(a)], axis=1)
        # Playground's noise moves only the point used for labelling, not the point shown.
        noisy = pts + rng.uniform(-radius, radius, (m, 2)) * noise
        lab = (np.hypot(noisy[:, 0], noisy[:, 1]) < radius * 0.5).astype(np.int32)
        return pts, lab

    return _balanced(rng, n0, n1, draw)


def _xor(rng, n0, n1, noise):
    padding = 0.3  # Playground keeps points off the axes so noise-free XOR has a margin

    def draw(m):
        pts = rng.uniform(-5, 5, (m, 2))
        pts += np.where(pts > 0, padding, -padding)
        noisy = pts + rng.uniform(-5, 5, (m, 2)) * noise
        lab = (noisy[:, 0] * noisy[:, 1] >= 0).astype(np.int32)
        return pts, lab

    return _balanced(rng, n0, n1, draw)


def _gauss(rng, n0, n1, noise):
    # Playground maps noise 0..0.5 linearly to a *variance* of 0.5..4.
    std = math.sqrt(0.5 + noise * 7.0)
    pos = rng.normal(2.0, std, (n1, 2))
    neg = rng.normal(-2.0, std, (n0, 2))
    return np.concatenate([neg, pos]), np.concatenate([np.zeros(n0, np.int32), np.ones(n1, np.int32)])


def _spiral(rng, n0, n1, noise):
    def arm(k, delta):
        # Playground places points at i/n along the arm; we draw the position uniformly
        # instead so the seed matters even at noise 0 (train and test points then differ).
        u = rng.random(k)
        r = u * 5.0
        t = 1.75 * u * 2 * math.pi + delta
        pts = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        return pts + rng.uniform(-1, 1, (k, 2)) * noise

    return (
        np.concatenate([arm(n0, math.pi), arm(n1, 0.0)]),
        np.concatenate([np.zeros(n0, np.int32), np.ones(n1, np.int32)]),
    )


# ---------------------------------------------------------------------------- folders


def default_cache_dir() -> Path:
    """Per-user cache folder for downloaded data.

    Linux: ``$XDG_CACHE_HOME/nnviz`` or ``~/.cache/nnviz``; macOS: ``~/Library/Caches/nnviz``;
    Windows: ``%LOCALAPPDATA%\\nnviz\\Cache``.
    """
    if sys.platform.startswith("win"):
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "nnviz" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "nnviz"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says relative values are invalid and must be ignored.
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "nnviz"
    return Path.home() / ".cache" / "nnviz"


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The data folder: explicit argument > ``$NNVIZ_DATA_DIR`` > :func:`default_cache_dir`."""
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir).expanduser()
    env = os.environ.get("NNVIZ_DATA_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    return default_cache_dir()


# ---------------------------------------------------------------------------- verification

# (path, size, mtime_ns) -> True once a file's checksum matched. Re-hashing MNIST on every
# load would cost time for nothing; a changed file gets a new key and is hashed again.
_VERIFIED: dict[tuple[str, int, int], bool] = {}


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _stat_key(path: Path):
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def _verify_local(path: Path, sums: dict[str, str]) -> str | None:
    """None if ``path`` matches the pinned checksum, else a sentence saying why not.

    A .gz verifies by its own sha256 or (re-compressed copies) by its content's sha256;
    a raw file by the decompressed-file sha256.
    """
    try:
        key = _stat_key(path)
        if _VERIFIED.get(key):
            return None
        if path.name.endswith(".gz"):
            got = _sha256_file(path)
            if got == sums["gz"]:
                _VERIFIED[key] = True
                return None
            try:
                content = gzip.decompress(path.read_bytes())
            except (OSError, EOFError, zlib.error) as e:
                return f"{path} is not a valid gzip file ({e})"
            got_raw = hashlib.sha256(content).hexdigest()
            if got_raw == sums["raw"]:
                _VERIFIED[key] = True
                return None
            return (
                f"{path} has sha256 {got} (content {got_raw}); expected {sums['gz']} (content {sums['raw']})"
            )
        got = _sha256_file(path)
        if got == sums["raw"]:
            _VERIFIED[key] = True
            return None
        return f"{path} has sha256 {got}; expected {sums['raw']}"
    except OSError as e:
        return f"cannot read {path} ({e.strerror or e})"


def _find_verified(folder: Path, name: str, base: str, problems: list[str]) -> Path | None:
    """The verified copy of ``base`` in ``folder`` (.gz preferred, then raw), else None."""
    sums = CHECKSUMS[name][base]
    for candidate in (folder / (base + ".gz"), folder / base):
        if candidate.is_file():
            why = _verify_local(candidate, sums)
            if why is None:
                return candidate
            problems.append(why)
    return None


def _image_file_paths(folder: Path, name: str) -> list[Path] | None:
    found = [_find_verified(folder, name, b, []) for b in IMAGE_FILES]
    return None if any(p is None for p in found) else found


# ---------------------------------------------------------------------------- download


def ensure_image_files(
    name: str,
    data_dir: str | Path | None = None,
    *,
    download: bool = True,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    mirrors: Iterable[str] | None = None,
) -> Path:
    """Return the folder that holds the 4 verified IDX files of ``name``.

    Looks in ``<data dir>/<name>/`` (and, for Fashion-MNIST, the Debian package folder);
    missing or corrupt files are downloaded into ``<data dir>/<name>/`` when ``download``
    is true. ``mirrors`` overrides the base URLs of :data:`MIRRORS` (tests use file://).
    """
    if name not in IMAGE_DATASETS:
        raise DatasetError(f"Unknown image dataset '{name}'; choose one of {', '.join(IMAGE_DATASETS)}.")
    root = resolve_data_dir(data_dir)
    folder = root / name
    problems: list[str] = []
    missing = [b for b in IMAGE_FILES if _find_verified(folder, name, b, problems) is None]
    if not missing:
        return folder
    for sysdir in SYSTEM_DIRS.get(name, ()):
        if _image_file_paths(Path(sysdir), name) is not None:
            return Path(sysdir)
    if not download:
        bad = ("\nProblems found:\n  " + "\n  ".join(problems)) if problems else ""
        raise DatasetError(
            f"{_pretty(name)} files are missing from {folder}: "
            f"{', '.join(m + '(.gz)' for m in missing)}.{bad}\n"
            f"Downloading is turned off. Either put the four files there, point "
            f"NNVIZ_DATA_DIR (or --data-dir) at a folder that contains '{name}/', "
            f"or allow downloading."
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DatasetError(
            f"Cannot create the data folder {folder} ({e.strerror or e}). "
            f"Set NNVIZ_DATA_DIR (or --data-dir) to a writable folder."
        ) from None
    bases = list(mirrors) if mirrors is not None else list(MIRRORS[name])
    for base in missing:
        _download_file(name, base, folder, bases, progress, cancel)
    return folder


def _pretty(name: str) -> str:
    return {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}.get(name, name)


def _download_file(name, base, folder: Path, mirrors, progress, cancel) -> Path:
    """Fetch ``base + '.gz'`` from the first mirror whose bytes match the pinned sha256."""
    filename = base + ".gz"
    target = folder / filename
    sums = CHECKSUMS[name][base]
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        if cancel is not None and cancel():
            raise DownloadCancelled(f"Download of {filename} was cancelled.")
        try:
            _fetch_verified(url, filename, target, sums, progress, cancel)
            return target
        except DownloadCancelled:
            raise
        except DatasetError as e:
            failures.append(f"{url}: {e}")
    if not failures:
        raise DatasetError(f"No download mirrors are configured for {filename}.")
    raise DatasetError(
        f"Could not download {filename} into {folder}. Every mirror failed:\n  "
        + "\n  ".join(failures)
        + "\nCheck your internet connection, or download the files yourself and put them "
        f"in {folder} (or point NNVIZ_DATA_DIR / --data-dir at a folder containing '{name}/')."
    )


def _fetch_verified(url, filename, target: Path, sums, progress, cancel) -> None:
    """Stream ``url`` into a temp file next to ``target``; verify, then atomically rename.

    The temp file lives in the target folder so ``os.replace`` is a same-filesystem
    rename: readers never see a half-written file under the final name.
    """
    try:
        fd, tmp_name = tempfile.mkstemp(prefix="." + filename + ".", suffix=".part", dir=target.parent)
        out = os.fdopen(fd, "wb")
    except OSError as e:
        raise DatasetError(f"cannot write into {target.parent} ({e.strerror or e})") from None
    tmp = Path(tmp_name)
    done = False
    try:
        h = hashlib.sha256()
        got_bytes = 0
        try:
            req = urllib.request.Request(url, headers={"User-Agent": "nnviz"})
            with out, urllib.request.urlopen(req, timeout=DOWNLOAD_TIMEOUT) as resp:
                total = int(resp.headers.get("Content-Length") or 0)
                if progress is not None:
                    progress(filename, 0, total)
                while True:
                    # Checked per chunk so the GUI's Cancel button answers within ~64 KiB.
                    if cancel is not None and cancel():
                        raise DownloadCancelled(f"Download of {filename} was cancelled.")
                    chunk = resp.read(_CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    h.update(chunk)
                    got_bytes += len(chunk)
                    if progress is not None:
                        progress(filename, got_bytes, total)
        except DatasetError:
            raise
        except urllib.error.HTTPError as e:
            raise DatasetError(f"HTTP {e.code} {e.reason}") from None
        except urllib.error.URLError as e:
            raise DatasetError(f"{e.reason}") from None
        except (OSError, http.client.HTTPException, ValueError) as e:
            raise DatasetError(f"{type(e).__name__}: {e}") from None
        if total and got_bytes != total:
            raise DatasetError(f"download of {filename} stopped after {got_bytes} of {total} bytes")
        got = h.hexdigest()
        # Verify BEFORE the rename: a bad file never appears under the final name.
        # A mirror may serve the same IDX content re-compressed; _verify_local accepts that.
        if got != sums["gz"] and _verify_local(tmp, sums) is not None:
            raise DatasetError(
                f"checksum mismatch for {filename}: got sha256 {got}, expected {sums['gz']}; "
                f"the file was refused"
            )
        try:
            os.replace(tmp, target)
        except OSError as e:
            raise DatasetError(f"cannot save {target} ({e.strerror or e})") from None
        done = True
    finally:
        out.close()
        if not done:
            try:
                tmp.unlink()
            except OSError:
                pass


# ---------------------------------------------------------------------------- file readers

_IDX_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_maybe_gz(path: Path) -> bytes:
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
    length) so a truncated download or a wrong file gives a clear :class:`DatasetError`.
    """
    path = Path(path)
    data = _read_maybe_gz(path)
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
    return arr.astype(dtype.newbyteorder("="))  # copy: native order and writeable


def load_npz(path):
    """Read a Keras-style .npz: returns ``(x_train, y_train, x_test, y_test)`` as stored."""
    path = Path(path)
    keys = ("x_train", "y_train", "x_test", "y_test")
    try:
        if path.stat().st_size == 0:
            raise DatasetError(f"{path} is empty.")
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in keys if k not in z.files]
            if missing:
                raise DatasetError(
                    f"{path} lacks the array(s) {', '.join(missing)}; a dataset .npz needs "
                    f"x_train, y_train, x_test, y_test (found: {', '.join(z.files) or 'nothing'})."
                )
            arrays = tuple(z[k] for k in keys)
    except DatasetError:
        raise
    except FileNotFoundError:
        raise DatasetError(f"{path} does not exist.") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as e:
        raise DatasetError(f"{path} is not a readable .npz file ({e}).") from None
    for k, a in zip(keys, arrays):
        if a.dtype == object or a.dtype.kind not in "biufUS":
            raise DatasetError(f"{path}: array {k} has unsupported type {a.dtype}.")
        if a.ndim == 0:
            raise DatasetError(f"{path}: array {k} is a scalar, expected one row per sample.")
    return arrays


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
    start = 1 if not all(_is_number(c) for c in cells[1:]) else 0
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


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


# ---------------------------------------------------------------------------- label helpers


def _labels_from_strings(labels: list[str], where: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Map label strings to 0..K-1. All-numeric labels must be integers (sorted numerically)."""
    uniq = sorted(set(labels))
    if all(_is_number(u) for u in uniq):
        vals = {}
        for u in uniq:
            f = float(u)
            if not math.isfinite(f) or f != int(f):
                raise DatasetError(f"{where}: labels must be whole numbers or class names, found '{u}'.")
            vals[u] = int(f)
        ints = sorted(set(vals.values()))
        index = {v: i for i, v in enumerate(ints)}
        y = np.array([index[vals[lab]] for lab in labels], dtype=np.int32)
        return y, tuple(str(v) for v in ints)
    index = {u: i for i, u in enumerate(uniq)}
    return np.array([index[lab] for lab in labels], dtype=np.int32), tuple(uniq)


def _labels_from_arrays(arrays: list[np.ndarray], where: str):
    """Remap several label arrays jointly to 0..K-1; class names are the original values."""
    fixed = []
    for a in arrays:
        if a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim != 1:
            raise DatasetError(f"{where}: labels must be one value per sample, got shape {a.shape}.")
        if a.dtype.kind == "f":
            if not np.isfinite(a).all() or not np.all(a == np.round(a)):
                raise DatasetError(f"{where}: labels are not whole numbers (found e.g. fractional values).")
            a = a.astype(np.int64)
        elif a.dtype.kind == "b":
            a = a.astype(np.int64)
        elif a.dtype.kind == "S":
            a = a.astype("U")
        fixed.append(a)
    kinds = {a.dtype.kind for a in fixed}
    if len(kinds) > 1 and not kinds <= {"i", "u"}:
        raise DatasetError(f"{where}: training and test labels have different types.")
    uniq = np.unique(np.concatenate(fixed))
    out = [np.searchsorted(uniq, a).astype(np.int32) for a in fixed]
    return out, tuple(str(u) for u in uniq.tolist())


# ---------------------------------------------------------------------------- splitting


def _n_of(n: int, ratio: float) -> int:
    return int(math.floor(n * ratio + 0.5))


def _carve(n_train: int, spec: DatasetSpec, rng, shuffle: bool):
    """Index arrays (train, val) for the training part: validation carve, then limit.

    Returns (None, empty) when nothing changes so big image arrays are not copied.
    """
    n_val = _n_of(n_train, spec.validation_split)
    n_val = min(n_val, n_train - 1)
    if n_val == 0 and not spec.train_limit and not shuffle:
        return None, np.zeros(0, np.int64)
    perm = rng.permutation(n_train)
    val_idx, tr_idx = perm[:n_val], perm[n_val:]
    return tr_idx, val_idx


def _minmax_apply(x_tr, others, lo=None, hi=None):
    lo = x_tr.min(axis=0) if lo is None else lo
    hi = x_tr.max(axis=0) if hi is None else hi
    span = hi - lo
    # Constant features map to 0 instead of dividing by zero.
    span = np.where(span > 0, span, 1.0)
    return [((a - lo) / span).astype(np.float32) for a in [x_tr, *others]]


def _finish(
    name, kind, class_names, x_tr, y_tr, x_te, y_te, spec: DatasetSpec, rng, scale_minmax=False, shuffle=False
) -> Dataset:
    """Carve validation from train, optionally min-max scale (train stats), apply train_limit."""
    if len(x_tr) < 1 or len(x_te) < 1:
        raise DatasetError(
            f"Dataset '{name}' needs at least one training and one test sample "
            f"(got {len(x_tr)} and {len(x_te)}); use more samples or another test ratio."
        )
    tr_idx, val_idx = _carve(len(x_tr), spec, rng, shuffle)
    if tr_idx is None:
        x_t, y_t = x_tr, y_tr
    else:
        x_t, y_t = x_tr[tr_idx], y_tr[tr_idx]
    x_v, y_v = x_tr[val_idx], y_tr[val_idx]
    if scale_minmax:
        # Statistics from the training part only (test data must not leak into
        # preprocessing), taken before train_limit so the lesson knob "fewer samples"
        # doesn't also rescale every input.
        x_t, x_v, x_te = _minmax_apply(x_t, [x_v, x_te])
    if spec.train_limit and spec.train_limit < len(x_t):
        x_t, y_t = x_t[: spec.train_limit], y_t[: spec.train_limit]
    return Dataset(
        name=name,
        x_train=_f32(x_t),
        y_train=y_t.astype(np.int32, copy=False),
        x_val=_f32(x_v),
        y_val=y_v.astype(np.int32, copy=False),
        x_test=_f32(x_te),
        y_test=y_te.astype(np.int32, copy=False),
        class_names=tuple(class_names),
        kind=kind,
    )


def _f32(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.uint8:
        return np.divide(a, np.float32(255.0), dtype=np.float32)
    return a.astype(np.float32, copy=False)


def _split_single(x, y, spec: DatasetSpec, rng):
    """Shuffle one array pair with the seed and hold out ``test_ratio`` as test."""
    n = len(x)
    if n < 2:
        raise DatasetError(
            f"'{spec.path or spec.name}' needs at least 2 samples to split into train and test, got {n}."
        )
    n_test = min(max(_n_of(n, spec.test_ratio), 1), n - 1)
    perm = rng.permutation(n)
    te, tr = perm[:n_test], perm[n_test:]
    return x[tr], y[tr], x[te], y[te]


# ---------------------------------------------------------------------------- loading


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
    if spec.name in TOY_DATASETS:
        x, y = make_toy(spec.name, spec.n_samples, spec.noise, spec.seed)
        x_tr, y_tr, x_te, y_te = _split_single(x, y, spec, split_rng)
        return _finish(spec.name, "toy2d", TOY_CLASS_NAMES, x_tr, y_tr, x_te, y_te, spec, split_rng)
    if spec.name in IMAGE_DATASETS:
        folder = ensure_image_files(spec.name, data_dir, download=download, progress=progress, cancel=cancel)
        x_tr, y_tr, x_te, y_te = _load_idx_folder(folder, expect=spec.name)
        return _finish(spec.name, "image", CLASS_NAMES[spec.name], x_tr, y_tr, x_te, y_te, spec, split_rng)
    return _load_files(spec, split_rng)


def _idx_paths(folder: Path) -> list[Path] | None:
    out = []
    for base in IMAGE_FILES:
        for cand in (folder / (base + ".gz"), folder / base):
            if cand.is_file():
                out.append(cand)
                break
        else:
            return None
    return out


def _load_idx_folder(folder: Path, expect: str | None = None):
    """Read the 4 IDX files of a folder; check counts and shapes."""
    if expect is not None:
        paths = [_find_verified(folder, expect, b, []) for b in IMAGE_FILES]
        if any(p is None for p in paths):  # changed on disk since ensure_image_files
            raise DatasetError(f"The {_pretty(expect)} files in {folder} changed while loading; try again.")
    else:
        paths = _idx_paths(folder)
        if paths is None:
            subs = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
            hint = f" It has the subfolder(s) {', '.join(subs)}; pick one of them." if subs else ""
            raise DatasetError(
                f"{folder} does not contain the four IDX files "
                f"({', '.join(b + '[.gz]' for b in IMAGE_FILES)}).{hint}"
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


def _load_files(spec: DatasetSpec, rng) -> Dataset:
    path = Path(spec.path).expanduser()
    name = path.stem if path.suffix else path.name
    if path.is_dir():
        x_tr, y_tr, x_te, y_te = _load_idx_folder(path)
        (y_tr, y_te), names = _labels_from_arrays([y_tr, y_te], str(path))
        if x_tr.ndim == 2:
            return _finish(
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
        x_tr, x_te = _scale_images(x_tr, x_te)
        return _finish(name, "image", names, x_tr, y_tr, x_te, y_te, spec, rng)
    if not path.exists():
        raise DatasetError(f"{path} does not exist.")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _dataset_from_npz(path, name, spec, rng)
    if suffix in (".csv", ".tsv", ".txt"):
        return _dataset_from_csv(path, name, spec, rng)
    raise DatasetError(
        f"{path}: unsupported file type '{path.suffix}'. Choose a folder with IDX files, "
        f"a .npz file or a .csv file."
    )


def _scale_images(*arrays):
    """uint8 stays for _f32 (/255 on conversion); other types /255 only if above 1."""
    if all(a.dtype == np.uint8 for a in arrays):
        return arrays
    out = [a.astype(np.float32) for a in arrays]
    if max(float(a.max()) for a in out if a.size) > 1.0:
        out = [a / np.float32(255.0) for a in out]
    return tuple(out)


def _dataset_from_npz(path: Path, name, spec, rng) -> Dataset:
    x_tr, y_tr, x_te, y_te = load_npz(path)
    for xs, ys, sx, sy in ((x_tr, y_tr, "x_train", "y_train"), (x_te, y_te, "x_test", "y_test")):
        if xs.dtype.kind not in "biuf":
            raise DatasetError(f"{path}: {sx} must be numeric, got {xs.dtype}.")
        if len(xs) != len(ys):
            raise DatasetError(f"{path}: {sx} has {len(xs)} rows but {sy} has {len(ys)}.")
        if len(xs) == 0:
            raise DatasetError(f"{path}: {sx} is empty.")
    if x_tr.shape[1:] != x_te.shape[1:]:
        raise DatasetError(
            f"{path}: x_train samples have shape {x_tr.shape[1:]} but x_test {x_te.shape[1:]}."
        )
    if x_tr.dtype.kind == "f" and not (np.isfinite(x_tr).all() and np.isfinite(x_te).all()):
        raise DatasetError(f"{path}: x_train/x_test contain NaN or infinite values.")
    (y_tr, y_te), names = _labels_from_arrays([y_tr, y_te], str(path))
    if x_tr.ndim in (3, 4):
        if x_tr.ndim == 3:
            x_tr, x_te = x_tr[..., None], x_te[..., None]
        x_tr, x_te = _scale_images(x_tr, x_te)
        return _finish(name, "image", names, x_tr, y_tr, x_te, y_te, spec, rng)
    if x_tr.ndim == 2:
        kind = "toy2d" if x_tr.shape[1] == 2 else "table"
        return _finish(
            name,
            kind,
            names,
            x_tr.astype(np.float64),
            y_tr,
            x_te.astype(np.float64),
            y_te,
            spec,
            rng,
            scale_minmax=True,
        )
    raise DatasetError(f"{path}: x_train has shape {x_tr.shape}; expected (N, features) or (N, H, W[, C]).")


def _dataset_from_csv(path: Path, name, spec, rng) -> Dataset:
    x, labels = load_csv(path)
    y, names = _labels_from_strings(labels, str(path))
    x_tr, y_tr, x_te, y_te = _split_single(x, y, spec, rng)
    if x.shape[1] == 28 * 28:
        # A flattened 28x28 image per row (e.g. the Kaggle MNIST CSVs).
        scale = 255.0 if float(x.max()) > 1.0 else 1.0
        x_tr = (x_tr / scale).reshape(-1, 28, 28, 1)
        x_te = (x_te / scale).reshape(-1, 28, 28, 1)
        return _finish(name, "image", names, x_tr, y_tr, x_te, y_te, spec, rng)
    kind = "toy2d" if x.shape[1] == 2 else "table"
    return _finish(name, kind, names, x_tr, y_tr, x_te, y_te, spec, rng, scale_minmax=True)
