"""Where data lives: the per-user cache folder and the data folder a load uses."""

from __future__ import annotations

import os
from pathlib import Path


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
