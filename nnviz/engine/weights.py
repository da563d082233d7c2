"""Trained weights on disk: Flax's msgpack serialization of the parameter tree.

The file stores the parameters as numpy arrays keyed by node id, so loading gives back
exactly the same bits, plus the node types, so weights saved for one network are refused
by another with a message saying what differs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from flax import serialization

from ..core.project import ProjectError, atomic_write

FORMAT = "nnviz-weights"
FORMAT_VERSION = 1

Params = dict[str, dict[str, np.ndarray]]  # node id -> {"kernel": ..., "bias": ...}


class WeightsError(ProjectError):
    """A weights file that cannot be read, or does not fit the network."""


def save_weights(path: str | os.PathLike, params: Params, node_types: dict[str, str], step: int = 0) -> Path:
    """Write ``params`` (numpy arrays) atomically; returns the path."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "step": int(step),
        "types": {nid: node_types[nid] for nid in params},
        "params": {nid: {k: np.asarray(v) for k, v in p.items()} for nid, p in params.items()},
    }
    atomic_write(path, serialization.msgpack_serialize(payload))
    return path


def load_weights(path: str | os.PathLike) -> tuple[Params, dict[str, str], int]:
    """Read a weights file: (params, node types, step). WeightsError names the file on any fault."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise WeightsError(f"{path}: no such weights file") from None
    except OSError as exc:
        raise WeightsError(f"{path} cannot be read: {exc.strerror or exc}") from None
    try:
        data = serialization.msgpack_restore(raw)
    except Exception as exc:  # msgpack raises many types for damaged input
        raise WeightsError(
            f"{path} is not a readable weights file ({type(exc).__name__}); it may be truncated or damaged"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise WeightsError(f"{path} is not an nnviz weights file")
    version = data.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise WeightsError(f"{path} was written by a newer nnviz (weights format {version}); update nnviz")
    params, types = data.get("params"), data.get("types")
    if not isinstance(params, dict) or not isinstance(types, dict):
        raise WeightsError(f"{path} has no parameters in it")
    for nid, p in params.items():
        if not isinstance(p, dict) or not all(isinstance(v, np.ndarray) for v in p.values()):
            raise WeightsError(f"{path}: the weights of node {nid} are damaged")
    return params, types, int(data.get("step", 0))


def check_compatible(
    saved: Params,
    saved_types: dict[str, str],
    expected: dict[str, dict[str, tuple]],
    node_types: dict[str, str],
    names: dict[str, str],
    source: str,
) -> None:
    """Raise WeightsError unless ``saved`` has exactly the shapes the model expects."""
    problems = []
    for nid, shapes in expected.items():
        label = f"{names.get(nid, nid)} ({node_types.get(nid, '?')})"
        if nid not in saved:
            problems.append(f"{label} has no saved weights")
            continue
        if saved_types.get(nid) != node_types.get(nid):
            problems.append(f"{label} was a {saved_types.get(nid)} when the weights were saved")
            continue
        for key, shape in shapes.items():
            got = saved[nid].get(key)
            if got is None or tuple(got.shape) != tuple(shape):
                have = "missing" if got is None else "×".join(map(str, got.shape))
                problems.append(f"{label} {key}: saved {have}, network needs {'×'.join(map(str, shape))}")
    extra = sorted(set(saved) - set(expected))
    if extra:
        problems.append(f"{len(extra)} saved layer(s) are not in this network")
    if problems:
        raise WeightsError(f"{source} does not fit this network: " + "; ".join(problems))
