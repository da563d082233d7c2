"""Example projects shipped in resources/presets, reachable by name."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .project import Project, ProjectError


def resource_dir(name: str) -> Path:
    """resources/NAME (presets, icons), installed (nnviz.resources) or in a source checkout."""
    try:
        return Path(str(resources.files("nnviz.resources") / name))
    except ModuleNotFoundError:  # running from a checkout that was never installed
        return Path(__file__).resolve().parents[2] / "resources" / name


def presets_dir() -> Path:
    """The folder of preset project files."""
    return resource_dir("presets")


def preset_names() -> list[str]:
    return sorted(p.stem for p in presets_dir().glob("*.json"))


def load_preset(name: str) -> Project:
    """The preset called ``name``; ProjectError listing the known names otherwise."""
    path = presets_dir() / f"{name}.json"
    if not path.is_file():
        raise ProjectError(f"there is no preset called {name!r}; known presets: {', '.join(preset_names())}")
    return Project.load(path)
