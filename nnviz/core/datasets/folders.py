"""Where data lives: the per-user cache folder, the data folder a load uses, and where tools find it."""

from __future__ import annotations

import os
from pathlib import Path

from .catalogue import entry
from .catalogue import names as catalogue_names


def default_cache_dir() -> Path:
    """Per-user cache folder for downloaded data, as platformdirs gives it.

    Linux: ``$XDG_CACHE_HOME/nnviz`` or ``~/.cache/nnviz`` (a relative XDG value is
    ignored, as the spec says); macOS: ``~/Library/Caches/nnviz``; Windows:
    ``%LOCALAPPDATA%\\nnviz\\Cache``.
    """
    import platformdirs

    return Path(platformdirs.user_cache_dir("nnviz", appauthor=False))


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The data folder: explicit argument > ``$NNVIZ_DATA_DIR`` > :func:`default_cache_dir`."""
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir).expanduser()
    env = os.environ.get("NNVIZ_DATA_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    return default_cache_dir()


# A source checkout: nnviz/core/datasets/folders.py -> the repository root, whose parent
# holds shared/datasets/ on developer and CI machines.
_CHECKOUT = Path(__file__).resolve().parents[3]


def data_dir_candidates() -> list[Path]:
    """Where tests, benchmarks and tools look for data, in order (the app itself does not).

    ``$NNVIZ_DATA_DIR``, then ``shared/datasets`` beside the repository when nnviz runs
    from a source checkout, then the app's cache folder (:func:`default_cache_dir`).
    """
    out = []
    env = os.environ.get("NNVIZ_DATA_DIR", "").strip()
    if env:
        out.append(Path(env).expanduser())
    if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "nnviz").is_dir():
        out.append(_CHECKOUT.parent / "shared" / "datasets")
    out.append(default_cache_dir())
    return out


def find_data_dir(*names: str) -> Path | None:
    """The first of :func:`data_dir_candidates` that holds the files of every image set named.

    With no names, all the catalogue's image sets. Files are found by name (``.gz`` or
    decompressed), not checksummed: loading checks them. None where no folder has them,
    so a test can skip and a benchmark fall back to stand-in data.
    """
    wanted = [entry(n) for n in (names or catalogue_names("image"))]
    for folder in data_dir_candidates():
        if all(
            (folder / e.name / f.filename).is_file() or (folder / e.name / f.name).is_file()
            for e in wanted
            for f in e.files
        ):
            return folder
    return None
