"""DatasetSpec: what to load (a toy set, an image set or user files) and how to split it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ..settings import Setting
from .catalogue import CATALOGUE
from .errors import DatasetError

MAX_TOY_SAMPLES = 1_000_000

# The numeric fields of DatasetSpec. validate() applies these rules and the settings
# panel builds its boxes from them, so a value a project file holds is one the window keeps.
DATASET_SETTINGS: Mapping[str, Setting] = MappingProxyType(
    {
        s.name: s
        for s in (
            Setting(
                "noise",
                "Noise",
                "noise",
                float,
                "How far points stray from their class's shape (0 to 0.5).",
                minimum=0,
                maximum=0.5,
                step=0.05,
            ),
            Setting(
                "n_samples",
                "Samples",
                "number of samples",
                int,
                "How many points to generate.",
                minimum=4,
                maximum=MAX_TOY_SAMPLES,
                step=100,
            ),
            Setting(
                "test_ratio",
                "Test ratio",
                "test ratio",
                float,
                "Fraction of the points held out to test on (never trained on).",
                minimum=0,
                maximum=1,
                above_minimum=True,
                below_maximum=True,
                step=0.05,
            ),
            Setting(
                "seed",
                "Data seed",
                "data seed",
                int,
                "Seed that generates the toy points and shuffles the split.",
                minimum=0,
            ),
            Setting(
                "validation_split",
                "Validation split",
                "validation split",
                float,
                "Fraction of the training data held out to validate on after each epoch (0: none).",
                minimum=0,
                maximum=1,
                below_maximum=True,
                step=0.05,
            ),
            Setting(
                "train_limit",
                "Training samples",
                "training limit",
                int,
                "Train on only this many samples (0: all). Small numbers make over-fitting easy to see.",
                minimum=0,
                step=100,
                special="all",
            ),
        )
    }
)


@dataclass(frozen=True)
class DatasetSpec:
    """What to load: a toy set, an image set or user files, plus how to split it.

    Serialisable with :meth:`to_dict` / :meth:`from_dict` (project files store it).
    Impossible values are reported by :meth:`validate`; :func:`load_dataset` refuses them.
    """

    name: str = "circle"  # a name in the catalogue (catalogue.py)
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
            msg = type_problem(key, value)
            if msg:
                raise DatasetError(msg)
            default = getattr(cls, key)
            kwargs[key] = type(default)(value)  # JSON may give 0 for 0.0; store the real type
        return cls(**kwargs)

    def validate(self) -> list[str]:
        """Human-readable messages for impossible values; empty when the spec is usable."""
        types = [m for f in dataclasses.fields(self) if (m := type_problem(f.name, getattr(self, f.name)))]
        if types:  # range checks below would raise TypeError on wrong types
            return types
        msgs: list[str] = []
        kind = CATALOGUE[self.name].kind if self.name in CATALOGUE else None
        if kind is None:
            msgs.append(f"Unknown dataset '{self.name}'; choose one of {', '.join(CATALOGUE)}.")
        for name, setting in DATASET_SETTINGS.items():
            if name == "n_samples" and kind != "toy2d":
                continue  # only toy sets are generated to a size
            problem = setting.problem(getattr(self, name))
            if problem:
                msgs.append(problem[0].upper() + problem[1:] + ".")
        if kind == "files" and not self.path.strip():
            msgs.append("Dataset 'files' needs a path: an IDX folder, a .npz file or a .csv file.")
        return msgs


def type_problem(key: str, value) -> str | None:
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
