"""Project files: the network, node positions, dataset, training settings and seed.

A file is parsed into plain data and checked first, then live objects are built, so a
bad file is refused with a message naming it and nothing is half-loaded. Saving writes
a temporary file and renames it over the old one, so a failed save never leaves a
truncated project behind.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .datasets import DatasetError, DatasetSpec
from .graph import MAX_NODES, GraphError, Network, node_count_problem
from .optimizers import OPTIMIZERS
from .settings import Setting, is_whole, value_text

FORMAT = "nnviz-project"
FORMAT_VERSION = 1
WEIGHTS_SUFFIX = ".weights.msgpack"

# What a project file may hold. Far beyond any real project, each bounds the time and
# memory a damaged or hostile file can cost before it is refused.
MAX_FILE_BYTES = 32 * 1024 * 1024  # a 10,000-node project (graph.MAX_NODES) is about 3 MB
MAX_DEPTH = 32  # objects and lists inside each other; a project needs 6
MAX_TEXT = 1_000  # characters of any text but the description
MAX_DESCRIPTION = 100_000
MAX_WHOLE = 10**18  # larger whole numbers are no setting's value, and unreadable in a message

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
        network_data = data.get("network")
        if isinstance(network_data, dict) and isinstance(network_data.get("nodes"), list):
            problem = node_count_problem(len(network_data["nodes"]))  # before walking them all
            if problem:
                raise ProjectError(f"{source}: network: {problem}")
        _check_values(data, source)
        version = data.get("format_version")
        if not is_whole(version) or version < 1:
            found = value_text(version) if "format_version" in data else "none"
            known = "1" if FORMAT_VERSION == 1 else f"1 to {FORMAT_VERSION}"
            raise ProjectError(
                f"{source} has no valid format_version (found {found}; this nnviz reads "
                f"format_version {known}, a whole number without quotes)"
            )
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
            data = text.encode("utf-8")  # a lone surrogate in some text fails here, not half-way
        except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
            raise ProjectError(
                f"{path} was not saved: the project holds a value that cannot be stored ({exc})"
            ) from None
        atomic_write(path, data)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Project:
        """Read and check a project file; any fault is a ProjectError naming the file, which is left untouched."""
        path = Path(path)
        raw = _read_project_file(path)
        if not raw.strip():
            raise ProjectError(f"{path} is empty")
        try:
            text = raw.decode("utf-8-sig")  # a BOM (some Windows editors add one) is not content
        except UnicodeDecodeError:
            raise ProjectError(f"{path} is not a text file, so not an nnviz project") from None
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except json.JSONDecodeError as exc:
            hint = (
                " (the file looks truncated: it ends before its JSON does)" if _ends_early(text, exc) else ""
            )
            raise ProjectError(
                f"{path} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}){hint}"
            ) from None
        except _NotANumber as exc:
            raise ProjectError(
                f"{path} holds {exc.args[0]}, which is not a number JSON allows; write a finite number there"
            ) from None
        except RecursionError:
            raise ProjectError(
                f"{path} holds lists or objects nested hundreds of levels deep; a project needs "
                f"at most {MAX_DEPTH}, so the file is damaged or not an nnviz project"
            ) from None
        except ValueError as exc:  # Python reads no integer literal over 4,300 digits
            digits = re.search(r"has (\d+) digits", str(exc))
            size = f" ({int(digits.group(1)):,} digits)" if digits else ""
            raise ProjectError(
                f"{path} holds a number too long to read{size}; no setting needs more than a "
                "few digits, so the file is damaged or not an nnviz project"
            ) from None
        return cls.from_dict(data, source=str(path))


_FILE_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFSOCK: "a socket",
}


def _read_project_file(path: Path) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most MAX_FILE_BYTES, else ProjectError.

    A named pipe or a device would block ``open`` or ``read`` for ever, so the kind of
    file is checked before opening, and again on the open descriptor (opened without
    blocking) in case the path was swapped in between.
    """

    def refuse_kind(mode: int) -> None:
        kind = _FILE_KINDS.get(stat.S_IFMT(mode))
        if kind == "a folder":
            raise ProjectError(f"{path} is a folder, not a project file")
        if not stat.S_ISREG(mode):
            raise ProjectError(
                f"{path} is {kind or 'not a regular file'}, not a project file; give a .json file"
            )

    def refuse_size(size: int) -> None:
        if size > MAX_FILE_BYTES:
            raise ProjectError(
                f"{path} is {size:,} bytes; a project file is at most {MAX_FILE_BYTES:,} bytes "
                f"({MAX_FILE_BYTES // 2**20} MiB, far more than its {MAX_NODES:,} nodes need), "
                "so this is not one nnviz can open"
            )

    try:
        refuse_kind(os.stat(path).st_mode)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except (FileNotFoundError, NotADirectoryError):
        raise ProjectError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ProjectError(f"{path} is a folder, not a project file") from None
    except OSError as exc:
        raise ProjectError(f"{path} cannot be read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        refuse_kind(info.st_mode)
        refuse_size(info.st_size)
        try:
            raw = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise ProjectError(f"{path} cannot be read: {exc.strerror or exc}") from None
    refuse_size(len(raw))  # it grew after the check
    return raw


class _NotANumber(ValueError):
    """NaN or Infinity in a file: Python's json reads them, JSON has no such numbers."""


def _refuse_constant(name: str) -> None:
    raise _NotANumber(name)


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def _ends_early(text: str, exc: json.JSONDecodeError) -> bool:
    """Whether the JSON stops before it is complete: the error is at its end, a string or
    a list or object is still open there (a cut can leave the parser stuck earlier)."""
    if exc.msg.startswith("Unterminated string") or exc.pos >= len(text.rstrip()):
        return True
    closing = {"]": "[", "}": "{"}
    stack = []
    for match in _BRACKETS.finditer(_STRING.sub('""', text)):
        c = match.group()
        if c in closing:
            if not stack or stack.pop() != closing[c]:
                return False  # mismatched brackets: broken, not cut short
        else:
            stack.append(c)
    return bool(stack)


def _check_values(data: dict, source: str) -> None:
    """Refuse what no setting can hold and no file should: deep nesting, text that is not
    Unicode (a lone surrogate cannot be printed or saved), very long text, whole numbers
    beyond any range, NaN or infinity. Iterative, so no depth of nesting can overflow it;
    each value's place is a (parent, key) link, spelled out only for a message."""
    stack: list[tuple[Any, int, tuple | None]] = [(data, 0, None)]
    while stack:
        value, depth, link = stack.pop()
        if isinstance(value, (dict, list)):
            if depth >= MAX_DEPTH:
                raise ProjectError(
                    f"{source}: {_where(data, link)} holds lists or objects nested more than {MAX_DEPTH} "
                    "levels deep; a project needs 6, so the file is damaged or not an nnviz project"
                )
            for key, item in value.items() if isinstance(value, dict) else enumerate(value):
                if isinstance(key, str):
                    _check_text(data, key, (link, key), source, MAX_TEXT)
                if isinstance(item, (dict, list, str, int, float)):
                    stack.append((item, depth + 1, (link, key)))
        elif isinstance(value, str):
            _check_text(
                data, value, link, source, MAX_DESCRIPTION if link == (None, "description") else MAX_TEXT
            )
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int) and abs(value) >= MAX_WHOLE:
            raise ProjectError(
                f"{source}: {_where(data, link)} is {value_text(value)}, far beyond any setting; "
                "use a value in the setting's range"
            )
        elif isinstance(value, float) and not math.isfinite(value):
            raise ProjectError(
                f"{source}: {_where(data, link)} is a number too large for nnviz ({value}); "
                "use a value in the setting's range"
            )


def _check_text(data: dict, text: str, link: tuple | None, source: str, limit: int) -> None:
    if len(text) > limit:
        raise ProjectError(
            f"{source}: {_where(data, link)} is text of {len(text):,} characters; nnviz allows "
            f"{limit:,} there, so shorten it"
        )
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ProjectError(
                f"{source}: {_where(data, link)} holds {ascii(text[exc.start])} at character {exc.start + 1}, "
                "half of a character pair (a lone surrogate) that no file can store; the program that "
                "wrote it is broken: retype that text"
            ) from None


def _where(data: dict, link: tuple | None) -> str:
    """Where in a project a (parent, key) link points, as people read it: ``node #3 (dense_1), params.units``."""
    path: list = []
    while link is not None:
        link, key = link
        path.append(key)
    path.reverse()

    def part(p: Any) -> str:
        text = str(p).encode("utf-8", "backslashreplace").decode("utf-8")
        return text if len(text) <= 40 else text[:37] + "…"

    def dotted(parts: list) -> str:
        text = ".".join(part(p) for p in parts[:6])
        return text + (".…" if len(parts) > 6 else "")

    if len(path) >= 3 and path[:2] == ["network", "nodes"] and isinstance(path[2], int):
        node = data["network"]["nodes"][path[2]]
        name = node.get("name") if isinstance(node, dict) else None
        label = f"network: node #{path[2] + 1}"
        if isinstance(name, str) and name.isprintable() and len(name) <= 40 and part(name) == name:
            label += f" ({name})"
        return f"{label}, {dotted(path[3:])}" if len(path) > 3 else label
    return dotted(path) or "the project"


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
