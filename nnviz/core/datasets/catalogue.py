"""The dataset catalogue: every dataset nnviz offers, one entry each.

An entry says what a dataset is (name, kind, title, the shape of one sample, the class
names) and, for the downloaded ones, which files make it up, their pinned checksums and
the mirrors to fetch them from. Everything that lists datasets or needs a dataset's
input shape before it is loaded (the settings panel's menu, the document's analysis,
the command line) reads it here, so a new dataset is one entry here plus, for a toy
set, its generator in ``toy.py``, or for an image set nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import DatasetError

# The kinds of entry: generated 2-D points, an image set of four IDX files fetched from
# the mirrors (train images, train labels, test images, test labels), or the user's own
# files (their shape is known only once they are read).
KINDS = ("toy2d", "image", "files")

# The names of the four files of an IDX image set, in that order (the official MNIST
# names; a folder the user imports must use them too).
IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

# Class 0 / 1 of the toy sets follow TensorFlow Playground's colours: label -1 is drawn
# orange, +1 blue.
TOY_CLASS_NAMES = ("orange", "blue")


@dataclass(frozen=True)
class DataFile:
    """One file of a downloaded dataset and its pinned sha256 checksums.

    ``sha256`` is that of the official ``.gz`` as the mirrors serve it; ``sha256_raw``
    that of its decompressed content, which accepts a copy someone re-compressed (a
    distribution's package) or stored decompressed.
    """

    name: str  # without ".gz", e.g. "train-images-idx3-ubyte"
    sha256: str
    sha256_raw: str

    @property
    def filename(self) -> str:
        """The name as downloaded: ``name + ".gz"``."""
        return self.name + ".gz"


@dataclass(frozen=True)
class DatasetEntry:
    """What nnviz knows about one dataset before loading it."""

    name: str  # as stored in project files and given on the command line
    kind: str  # one of KINDS
    title: str  # for people: "MNIST digits", "Spiral"
    sample_shape: tuple[int, ...] | None  # one sample's shape; None until user files are read
    class_names: tuple[str, ...] = ()  # empty until user files are read
    description: str = ""  # one sentence for tooltips and `nnviz datasets`
    files: tuple[DataFile, ...] = ()  # image sets: IDX_FILES, in that order
    # Base URLs tried in order; each file is fetched as base + filename and verified
    # against its sha256 before it is kept, so a wrong or hijacked mirror cannot feed us data.
    mirrors: tuple[str, ...] = ()
    # Read-only folders where a distribution may already have installed the files.
    system_dirs: tuple[str, ...] = ()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"dataset {self.name!r}: kind {self.kind!r} is not one of {KINDS}")
        if self.kind == "image" and tuple(f.name for f in self.files) != IDX_FILES:
            raise ValueError(f"dataset {self.name!r}: an image set needs the files {IDX_FILES}, in order")

    @property
    def n_classes(self) -> int | None:
        """How many classes; None for user files until they are read."""
        return len(self.class_names) if self.kind != "files" else None

    @property
    def menu_text(self) -> str:
        """The title with what kind of data it is, for a menu: "Spiral (toy 2D)", "MNIST digits (28×28)"."""
        if self.kind == "toy2d":
            return f"{self.title} (toy 2D)"
        if self.kind == "image" and self.sample_shape:
            h, w, *c = self.sample_shape
            return f"{self.title} ({h}×{w}{'' if c in ([], [1]) else f'×{c[0]}'})"
        return self.title

    def file(self, name: str) -> DataFile:
        """The file of this dataset called ``name`` (without ".gz")."""
        for f in self.files:
            if f.name == name:
                return f
        raise DatasetError(f"Dataset '{self.name}' has no file '{name}'.")


def _idx_set(sums: tuple[tuple[str, str], ...]) -> tuple[DataFile, ...]:
    """The four IDX files with their (gz, raw) sha256, given in IDX_FILES order."""
    return tuple(DataFile(name, gz, raw) for name, (gz, raw) in zip(IDX_FILES, sums, strict=True))


_DIGITS = tuple(str(i) for i in range(10))
_CLOTHES = (
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
)

# Menus list the entries in this order. The checksums of the official .gz files are the
# values Keras and torchvision pin; the decompressed ones come from shared/datasets/README.md.
_ENTRIES = (
    DatasetEntry(
        "circle",
        "toy2d",
        "Circle",
        (2,),
        TOY_CLASS_NAMES,
        "A disc of one class inside a ring of the other.",
    ),
    DatasetEntry(
        "xor",
        "toy2d",
        "XOR",
        (2,),
        TOY_CLASS_NAMES,
        "Four quadrants: the class is whether x and y have the same sign.",
    ),
    DatasetEntry(
        "gauss",
        "toy2d",
        "Two Gaussians",
        (2,),
        TOY_CLASS_NAMES,
        "Two round clouds of points, one per class; a straight line separates them.",
    ),
    DatasetEntry(
        "spiral",
        "toy2d",
        "Spiral",
        (2,),
        TOY_CLASS_NAMES,
        "Two interleaved spiral arms, the hardest toy set.",
    ),
    DatasetEntry(
        "moons",
        "toy2d",
        "Moons",
        (2,),
        TOY_CLASS_NAMES,
        "Two interleaving half circles (scikit-learn's make_moons): a curved boundary.",
    ),
    DatasetEntry(
        "mnist",
        "image",
        "MNIST digits",
        (28, 28, 1),
        _DIGITS,
        "Handwritten digits 0 to 9: 28×28 grey images, 60,000 to train and 10,000 to test.",
        files=_idx_set(
            (
                (
                    "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                ),
                (
                    "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                ),
                (
                    "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                ),
                (
                    "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
                ),
            )
        ),
        mirrors=(
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",  # often answers 403, kept as a last resort
        ),
    ),
    DatasetEntry(
        "fashion-mnist",
        "image",
        "Fashion-MNIST",
        (28, 28, 1),
        _CLOTHES,
        "Zalando's clothes in ten classes: 28×28 grey images, 60,000 to train and 10,000 to test.",
        files=_idx_set(
            (
                (
                    "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                    "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                ),
                (
                    "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                    "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                ),
                (
                    "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                    "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                ),
                (
                    "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                    "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
                ),
            )
        ),
        mirrors=(
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        ),
        # Debian/Ubuntu `dataset-fashion-mnist`; its gzip headers differ, so those files
        # verify by their decompressed checksum.
        system_dirs=("/usr/share/datasets/fashion-mnist",),
    ),
    DatasetEntry(
        "files",
        "files",
        "Your files",
        None,
        description="A folder of IDX files, a Keras-style .npz or a CSV with the label in its first column.",
    ),
)

# name -> entry, in menu order. Read it through entry() and names(); tests may patch an
# entry (monkeypatch.setitem) to point a download at files they made.
CATALOGUE: dict[str, DatasetEntry] = {e.name: e for e in _ENTRIES}


def names(kind: str | None = None) -> tuple[str, ...]:
    """The datasets of ``kind`` (all when None), in menu order."""
    return tuple(n for n, e in CATALOGUE.items() if kind is None or e.kind == kind)


def entry(name: str) -> DatasetEntry:
    """The catalogue entry of ``name``; an unknown name raises :class:`DatasetError`."""
    try:
        return CATALOGUE[name]
    except (KeyError, TypeError):
        raise DatasetError(f"Unknown dataset '{name}'; choose one of {', '.join(CATALOGUE)}.") from None


def input_shape(name: str) -> tuple[int, ...] | None:
    """One sample's shape, without loading anything; None for user files (known once read)."""
    return entry(name).sample_shape


def n_classes(name: str) -> int | None:
    """How many classes, without loading anything; None for user files (known once read)."""
    return entry(name).n_classes


def title(name: str) -> str:
    """The dataset's name for people ("MNIST digits"); an unknown name is returned as is."""
    e = CATALOGUE.get(name)
    return e.title if e is not None else name


# Derived from the catalogue, for code that only asks "is it a toy / an image set?".
TOY_DATASETS = names("toy2d")
IMAGE_DATASETS = names("image")
