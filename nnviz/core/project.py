"""Project files: the network, node positions, dataset, training settings and seed.

A file is parsed into plain data and checked first, then live objects are built, so a
bad file is refused with a message naming it and nothing is half-loaded. Saving writes
a temporary file and renames it over the old one, so a failed save never leaves a
truncated project behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .datasets import DatasetError, DatasetSpec
from .graph import GraphError, Network
from .optimizers import OPTIMIZERS
from .settings import Setting, is_whole

FORMAT = "nnviz-project"
FORMAT_VERSION = 1
WEIGHTS_SUFFIX = ".weights.msgpack"

INITIALIZERS = ("auto", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_normal", "zeros")


class ProjectError(Exception):
    """A project file that cannot be read or written; the message names the file."""


# Every field of TrainingConfig, in its order. Widgets take their ranges from here and
# validation its rules, so the two cannot drift apart.
TRAINING_SETTINGS: Mapping[str, Setting] = MappingProxyType(
    {
        s.name: s
        for s in (
            Setting(
                "optimizer",
                "Optimizer",
                "optimizer",
                str,
                "How the gradient turns into a weight update.",
                choices=tuple(OPTIMIZERS),
            ),
            Setting(
                "learning_rate",
                "Learning rate",
                "learning rate",
                float,
                "Size of each step down the gradient. Too high diverges, too low crawls. "
                "Can be changed while training.",
                minimum=0,
                maximum=100,
                above_minimum=True,
                step=0.001,
                adaptive=True,
            ),
            Setting(
                "momentum",
                "Momentum",
                "momentum",
                float,
                "How much of the previous update carries over (momentum and Nesterov only).",
                minimum=0,
                maximum=1,
                below_maximum=True,
                step=0.05,
            ),
            Setting(
                "batch_size",
                "Batch size",
                "batch size",
                int,
                "Samples per gradient step (mini-batch).",
                minimum=1,
                maximum=65536,
            ),
            Setting(
                "epochs", "Epochs", "epochs", int, "Passes over the training data.", minimum=1, maximum=100000
            ),
            Setting(
                "max_steps",
                "Step limit",
                "max steps",
                int,
                "Stop after this many mini-batches (0: when the epochs are done).",
                minimum=0,
                step=100,
                special="no limit",
            ),
            Setting(
                "init",
                "Initialisation",
                "initialisation",
                str,
                "How the weights start before training.",
                choices=INITIALIZERS,
            ),
            Setting(
                "l1",
                "L1",
                "L1 regularisation",
                float,
                "L1 penalty: pushes weights to exactly zero.",
                minimum=0,
                maximum=10,
                step=0.0001,
                adaptive=True,
            ),
            Setting(
                "l2",
                "L2",
                "L2 regularisation",
                float,
                "L2 penalty (weight decay): keeps weights small.",
                minimum=0,
                maximum=10,
                step=0.0001,
                adaptive=True,
            ),
            Setting(
                "seed",
                "Seed",
                "seed",
                int,
                "Seed of the initial weights and the batch order: the same seed trains the same way again.",
                minimum=0,
                maximum=2**32 - 1,
            ),
        )
    }
)


@dataclass(frozen=True)
class TrainingConfig:
    """How to train: optimizer, learning rate, batches, epochs, initialisation, regularisation, seed.

    What each field may hold is its entry in ``TRAINING_SETTINGS``.
    """

    optimizer: str = "adam"
    learning_rate: float = 0.001
    momentum: float = 0.9
    batch_size: int = 32
    epochs: int = 5
    max_steps: int = 0  # 0: as many as the epochs take; else stop after this many mini-batches
    init: str = "auto"  # auto: He for ReLU layers, Glorot otherwise
    l1: float = 0.0
    l2: float = 0.0
    seed: int = 0

    def validate(self) -> list[str]:
        """Human-readable problems with these settings, empty when all is well."""
        problems = (s.problem(getattr(self, name)) for name, s in TRAINING_SETTINGS.items())
        return [p for p in problems if p]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> TrainingConfig:
        if not isinstance(data, dict):
            raise ValueError("'training' must be an object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"'training' has unknown settings: {', '.join(unknown)}")
        cfg = cls(**data)
        problems = cfg.validate()
        if problems:
            raise ValueError("training settings: " + "; ".join(problems))
        return cfg


@dataclass
class Project:
    """Everything needed to rebuild and retrain a network exactly."""

    network: Network = field(default_factory=Network)
    dataset: DatasetSpec = field(default_factory=DatasetSpec)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    name: str = "Untitled"
    description: str = ""

    def with_training(self, **changes: Any) -> Project:
        return replace(self, training=replace(self.training, **changes))

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "description": self.description,
            "network": self.network.to_dict(),
            "dataset": self.dataset.to_dict(),
            "training": self.training.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "project") -> Project:
        """Check plain data section by section; ProjectError names ``source`` and the fault."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ProjectError(f'{source} is not an nnviz project (it lacks "format": "{FORMAT}")')
        version = data.get("format_version")
        if not is_whole(version) or version < 1:
            raise ProjectError(f"{source} has no valid format_version")
        if version > FORMAT_VERSION:
            raise ProjectError(
                f"{source} was saved by a newer nnviz (format version {version}; this version reads "
                f"up to {FORMAT_VERSION}). Update nnviz to open it."
            )
        for key in ("network", "dataset", "training"):
            if key not in data:
                raise ProjectError(f"{source} is missing its '{key}' section")
        try:
            network = Network.from_dict(data["network"])
        except GraphError as exc:
            raise ProjectError(f"{source}: network: {exc}") from None
        try:
            dataset = DatasetSpec.from_dict(data["dataset"])
        except (DatasetError, TypeError, ValueError) as exc:
            raise ProjectError(f"{source}: dataset: {exc}") from None
        problems = dataset.validate()  # from_dict checks types only, not names or ranges
        if problems:
            raise ProjectError(f"{source}: dataset: " + " ".join(problems))
        try:
            training = TrainingConfig.from_dict(data["training"])
        except (TypeError, ValueError) as exc:
            raise ProjectError(f"{source}: {exc}") from None
        name, description = data.get("name", "Untitled"), data.get("description", "")
        if not isinstance(name, str) or not isinstance(description, str):
            raise ProjectError(f"{source}: 'name' and 'description' must be text")
        return cls(network, dataset, training, name, description)

    # ------------------------------------------------------------ files

    def save(self, path: str | os.PathLike) -> Path:
        """Write the project as JSON, atomically; returns the path written."""
        path = Path(path)
        try:
            # allow_nan=False: NaN/Infinity are not JSON, and load would refuse the file.
            text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        except (TypeError, ValueError) as exc:
            raise ProjectError(
                f"{path} was not saved: the project holds a value that cannot be stored ({exc})"
            ) from None
        atomic_write(path, text.encode("utf-8"))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Project:
        path = Path(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise ProjectError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise ProjectError(f"{path} is a folder, not a project file") from None
        except OSError as exc:
            raise ProjectError(f"{path} cannot be read: {exc.strerror or exc}") from None
        if not raw.strip():
            raise ProjectError(f"{path} is empty")
        try:
            text = raw.decode("utf-8-sig")  # a BOM (some Windows editors add one) is not content
        except UnicodeDecodeError:
            raise ProjectError(f"{path} is not a text file, so not an nnviz project") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            hint = " (the file looks truncated)" if exc.pos >= len(text.rstrip()) else ""
            raise ProjectError(
                f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}{hint}"
            ) from None
        return cls.from_dict(data, source=str(path))


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()  # read once, at import, before any other thread could race it


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step; on any error the old file is untouched."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ProjectError(f"{path} cannot be written: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ProjectError(f"{path} cannot be written: {exc.strerror or exc}") from None
