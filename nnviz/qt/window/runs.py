"""A trained run's state on disk as the window keeps it: beside the project, imported, exported.

The state itself (weights, optimizer state, step, history, the fingerprint of what it was
trained with) is the engine's ``RunState`` (``nnviz.engine.weights``, numpy and msgpack
only, so the window can read and write it without JAX). Here: where it lives beside a
project, and whether a state read from a file may continue the project's training.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ...core.project import WEIGHTS_SUFFIX, Project

if TYPE_CHECKING:
    from ...engine.weights import RunState

WEIGHTS_FILTER = "nnviz weights (*.weights.msgpack *.msgpack);;All files (*)"


def weights_path_for(project_path: str | Path) -> Path:
    """Where a project's trained state is saved: ``NAME.weights.msgpack`` beside ``NAME.json``."""
    path = Path(project_path)
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    return path.with_name(stem + WEIGHTS_SUFFIX)


def fingerprint(project: Project) -> str:
    """What the compiled step depends on (network, dataset, batch size, optimizer, seed...)."""
    from ...engine.weights import training_fingerprint

    return training_fingerprint(project)


def fits(state: RunState | None, project: Project) -> bool:
    """``state`` can go on training ``project`` (nothing the compiled step depends on changed)."""
    return state is not None and state.fingerprint == fingerprint(project)


def read_state(path: str | Path, project: Project) -> RunState:
    """The state saved at ``path`` if it fits ``project``; WeightsError saying why not (the file is left alone)."""
    from ...engine.weights import WeightsError, load_run_state

    state = load_run_state(path)
    if not fits(state, project):
        raise WeightsError(
            f"{path} was saved for another network or other training settings (network, dataset, "
            "batch size, optimizer or seed differ), so it was not loaded; Train starts from new weights"
        )
    return state


def write_state(path: str | Path, state: RunState) -> Path:
    """Write ``state`` atomically (WeightsError or ProjectError on failure; an old file stays whole)."""
    from ...engine.weights import save_run_state

    save_run_state(path, state)
    return Path(path)


def target_reached(state: RunState, project: Project) -> bool:
    """The run has trained as far as the project's settings ask (its epochs, or its step limit)."""
    t = project.training
    if t.max_steps:
        return state.step >= t.max_steps
    return state.epoch >= t.epochs and not state.position


def last_epoch_of(state: RunState):
    """The last epoch's numbers in ``state``'s history as an EpochEnd, or None."""
    for record in reversed(list(state.history or [])):
        try:
            return epoch_end(record)
        except (TypeError, ValueError):
            continue
    return None


def epoch_end(record: dict):
    """An EpochEnd message from one record of a state's history (its report is not kept)."""
    from ...engine.messages import EpochEnd

    return EpochEnd.from_record(record)
