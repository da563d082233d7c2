"""Where data lives: the per-user cache folder and the data folder a load uses."""

from __future__ import annotations

import os
import sys
from pathlib import Path


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
