"""Trained state on disk: the weights, and what a run needs to continue from them.

One format for both: a ``RunState`` (weights, node types, step, epoch and position in
it, the optimizer's state, the epoch history, the training fingerprint) packed with
msgpack, its arrays as raw little-endian bytes with their dtype and shape, inside an
envelope that carries a sha256 checksum of the packed state, so a flipped byte is
found before anything is used. ``save_weights`` / ``load_weights`` read and write the
same file with only the weights filled in.

Only numpy and msgpack are imported (no JAX, no Flax), so the window may read and write
these files itself.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
import numpy as np

from ..core.project import ProjectError, atomic_write

FORMAT = "nnviz-weights"
FORMAT_VERSION = 2  # 1: Flax's msgpack of the parameter tree, no checksum (never released)

Params = dict[str, dict[str, np.ndarray]]  # node id -> {"kernel": ..., "bias": ...}

_WEIGHT_DTYPE = np.dtype("<f4")
_OPT_DTYPES = {np.dtype("<f4"), np.dtype("<i4")}  # optax keeps counts as int32
_ARRAY_KEYS = {"dtype", "shape", "data"}


class WeightsError(ProjectError):
    """A weights file that cannot be read, or does not fit the network."""


@dataclass(frozen=True, eq=False)  # holds arrays: compared by identity
class RunState:
    """Everything a stopped or finished run needs to go on exactly as if it had never stopped."""

    params: Params  # node id -> {"kernel", "bias"} float32 arrays
    node_types: dict[str, str]
    step: int = 0  # optimizer steps done
    epoch: int = 0  # epochs completed
    position: int = 0  # batches done inside the current epoch
    opt_leaves: tuple[np.ndarray, ...] = ()  # the optax state's leaves (jax.tree.leaves order)
    history: tuple[dict, ...] = ()  # EpochEnd records so far, as plain dicts (EpochEnd.record)
    fingerprint: str = ""  # training_fingerprint of the project it was trained for ("": weights only)


# ---------------------------------------------------------------- the fingerprint

# Settings that change neither the compiled step nor the data order: a run may go on
# with other values of these.
_FREE_SETTINGS = ("learning_rate", "epochs", "max_steps")


def training_fingerprint(project) -> str:
    """A short hash of everything the compiled step and the data order depend on.

    The network's structure and layer parameters (not names or positions), the dataset
    and its split, and every training setting except the learning rate, the epochs and
    the step limit (which a continued run may change). Two projects with the same
    fingerprint train the same weights from the same state.
    """
    network = project.network
    nodes = sorted(
        (nid, node.type, json.dumps(dict(node.params), sort_keys=True, default=str))
        for nid, node in network.nodes.items()
    )
    edges = sorted(
        json.dumps(edge, sort_keys=True, default=str) for edge in network.to_dict().get("edges", [])
    )
    training = {k: v for k, v in project.training.to_dict().items() if k not in _FREE_SETTINGS}
    doc = {
        "nodes": nodes,
        "edges": edges,
        "dataset": project.dataset.to_dict(),
        "training": training,
    }
    text = json.dumps(doc, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


# ---------------------------------------------------------------- packing


def encode_array(a: np.ndarray) -> dict:
    """An array as msgpack-ready plain data: little-endian bytes, dtype and shape."""
    a = np.asarray(a)
    le = a.astype(a.dtype.newbyteorder("<"), copy=False) if a.dtype.byteorder == ">" else a
    return {"dtype": le.dtype.str, "shape": list(le.shape), "data": np.ascontiguousarray(le).tobytes()}


def pack(document: dict) -> bytes:
    """The file's bytes for ``document`` (the state as plain data): the envelope with its checksum."""
    payload = msgpack.packb(document, use_bin_type=True)
    return msgpack.packb(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "sha256": hashlib.sha256(payload).hexdigest(),
            "payload": payload,
        },
        use_bin_type=True,
    )


def state_document(state: RunState) -> dict:
    """``state`` as plain data, as ``pack`` takes it."""
    missing = sorted(set(state.params) - set(state.node_types))
    if missing:
        raise ValueError(f"no node type given for {', '.join(missing)}")
    return {
        "step": int(state.step),
        "epoch": int(state.epoch),
        "position": int(state.position),
        "fingerprint": str(state.fingerprint),
        "types": {nid: str(state.node_types[nid]) for nid in state.params},
        "params": {
            nid: {k: encode_array(_weight_array(nid, k, v)) for k, v in p.items()}
            for nid, p in state.params.items()
        },
        "opt_leaves": [encode_array(_as_array(v)) for v in state.opt_leaves],
        "history": [_plain_record(r) for r in state.history],
    }


def _as_array(v) -> np.ndarray:
    if isinstance(v, np.ndarray | np.generic | int | float):
        return np.asarray(v)
    raise TypeError(f"not an array: {type(v).__name__}")


def _weight_array(nid: str, key: str, v) -> np.ndarray:
    """A weight as saved: float32 only, so that no file is written that loading would refuse."""
    a = _as_array(v)
    if a.dtype.kind != "f" or a.dtype.itemsize != 4:
        raise TypeError(f"the {key} of node {nid} is {a.dtype.name}; weights are saved as float32")
    return a


def _plain_record(record: dict) -> dict:
    out = {}
    for k, v in record.items():
        if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
            raise TypeError(f"history value {k!r} is not a number")
        out[str(k)] = int(v) if isinstance(v, int | np.integer) else float(v)
    return out


def save_run_state(path: str | os.PathLike, state: RunState) -> Path:
    """Write ``state`` atomically (the old file stays as it was on any error); returns the path."""
    path = Path(path)
    atomic_write(path, pack(state_document(state)))
    return path


def save_weights(path: str | os.PathLike, params: Params, node_types: dict[str, str], step: int = 0) -> Path:
    """Write ``params`` (numpy arrays) atomically, without what a run needs to continue; returns the path."""
    return save_run_state(path, RunState(params=params, node_types=node_types, step=int(step)))


# ---------------------------------------------------------------- reading


def load_run_state(path: str | os.PathLike) -> RunState:
    """Read a weights file. WeightsError, naming the file and saying what is wrong, on any fault."""
    path = Path(path)
    raw = _read(path)
    doc = _unwrap(path, raw)
    return _state_from(path, doc)


def load_weights(path: str | os.PathLike) -> tuple[Params, dict[str, str], int]:
    """Read a weights file: (params, node types, step). WeightsError names the file on any fault."""
    state = load_run_state(path)
    return state.params, state.node_types, state.step


def _read(path: Path) -> bytes:
    try:
        if path.exists() and not path.is_file():
            raise WeightsError(f"{path} is not a regular file; give the path of a weights file")
        return path.read_bytes()
    except FileNotFoundError:
        raise WeightsError(f"{path}: no such weights file") from None
    except OSError as exc:
        raise WeightsError(f"{path} cannot be read: {exc.strerror or exc}") from None


def _unpack(data: bytes):
    return msgpack.unpackb(data, raw=False, strict_map_key=True, use_list=True)


def _unwrap(path: Path, raw: bytes) -> dict:
    """The state document inside the envelope, its checksum verified."""
    damaged = f"{path} is not a readable weights file; it may be truncated or damaged"
    try:
        outer = _unpack(raw)
    except Exception:  # msgpack raises many types for damaged input
        raise WeightsError(damaged) from None
    if not isinstance(outer, dict) or outer.get("format") != FORMAT:
        raise WeightsError(f"{path} is not an nnviz weights file")
    version = outer.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise WeightsError(f"{path} has no valid weights format version (found {_short(version)})")
    if version > FORMAT_VERSION:
        raise WeightsError(
            f"{path} was written by a newer nnviz (weights format {version}, this one reads "
            f"{FORMAT_VERSION}); update nnviz"
        )
    if version < FORMAT_VERSION:
        raise WeightsError(
            f"{path} was written by an earlier development version of nnviz (weights format "
            f"{version}), which this one no longer reads; train again and save"
        )
    payload, checksum = outer.get("payload"), outer.get("sha256")
    if not isinstance(payload, bytes) or not isinstance(checksum, str):
        raise WeightsError(damaged)
    if hashlib.sha256(payload).hexdigest() != checksum:
        raise WeightsError(
            f"{path} is damaged: its contents do not match their checksum (a changed or lost "
            "byte); nothing was loaded. Use another copy or train again"
        )
    try:
        doc = _unpack(payload)
    except Exception:
        raise WeightsError(damaged) from None
    if not isinstance(doc, dict):
        raise WeightsError(damaged)
    return doc


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _count(path: Path, doc: dict, key: str) -> int:
    value = doc.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise WeightsError(f"{path}: its {key} must be a whole number >= 0, not {_short(value)}")
    return value


def _decode_array(path: Path, where: str, enc: Any, allowed: set[np.dtype]) -> np.ndarray:
    if not isinstance(enc, dict) or set(enc) != _ARRAY_KEYS:
        raise WeightsError(f"{path}: {where} is damaged (not an array)")
    dtype_text, shape, data = enc["dtype"], enc["shape"], enc["data"]
    try:
        dtype = np.dtype(dtype_text) if isinstance(dtype_text, str) else None
    except (TypeError, ValueError):
        dtype = None
    if dtype is None or dtype.hasobject:
        raise WeightsError(f"{path}: {where} has an unknown number type {_short(dtype_text)}")
    if dtype not in allowed:
        names = " or ".join(sorted(d.name for d in allowed))
        raise WeightsError(f"{path}: {where} holds {dtype.name} numbers; nnviz weights are {names}")
    if (
        not isinstance(shape, list)
        or len(shape) > 8
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)
        or not isinstance(data, bytes)
        or math.prod(shape) * dtype.itemsize != len(data)
    ):
        raise WeightsError(f"{path}: {where} is damaged (its size does not match its shape)")
    a = np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise WeightsError(f"{path}: {where} holds NaN or infinite values; these weights cannot be used")
    return a


def _state_from(path: Path, doc: dict) -> RunState:
    params_doc, types = doc.get("params"), doc.get("types")
    if not isinstance(params_doc, dict) or not isinstance(types, dict):
        raise WeightsError(f"{path} has no parameters in it")
    params: Params = {}
    for nid, p in params_doc.items():
        if not isinstance(p, dict) or not p or not all(isinstance(k, str) for k in p):
            raise WeightsError(f"{path}: the weights of node {_short(nid)} are damaged")
        ntype = types.get(nid)
        if not isinstance(ntype, str):
            raise WeightsError(f"{path}: node {_short(nid)} has no layer type")
        params[nid] = {
            k: _decode_array(path, f"the {k} of node {nid} ({ntype})", v, {_WEIGHT_DTYPE})
            for k, v in p.items()
        }
    node_types = {nid: types[nid] for nid in params}
    step, epoch, position = (_count(path, doc, k) for k in ("step", "epoch", "position"))
    fingerprint = doc.get("fingerprint", "")
    if not isinstance(fingerprint, str):
        raise WeightsError(f"{path}: its training fingerprint is damaged")
    leaves_doc = doc.get("opt_leaves", [])
    if not isinstance(leaves_doc, list):
        raise WeightsError(f"{path}: its optimizer state is damaged")
    leaves = tuple(
        _decode_array(path, f"optimizer state #{i + 1}", enc, _OPT_DTYPES) for i, enc in enumerate(leaves_doc)
    )
    history_doc = doc.get("history", [])
    if not isinstance(history_doc, list) or not all(
        isinstance(r, dict)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in r.values())
        for r in history_doc
    ):
        raise WeightsError(f"{path}: its training history is damaged")
    return RunState(
        params=params,
        node_types=node_types,
        step=step,
        epoch=epoch,
        position=position,
        opt_leaves=leaves,
        history=tuple(history_doc),
        fingerprint=fingerprint,
    )


# ---------------------------------------------------------------- fitting a network


def _shape_text(shape) -> str:
    return "×".join(map(str, shape)) if len(shape) else "scalar"


def check_compatible(
    saved: Params,
    saved_types: dict[str, str],
    expected: dict[str, dict[str, tuple]],
    node_types: dict[str, str],
    names: dict[str, str],
    source: str,
) -> None:
    """Raise WeightsError unless ``saved`` holds exactly the float32 arrays, shapes and node ids the model expects.

    The message names each node that does not fit and what differs: missing weights,
    another layer type, a transposed or other shape, another number type, saved layers
    this network does not have.
    """
    problems = []
    missing = []
    for nid, shapes in expected.items():
        label = f"{names.get(nid, nid)} ({node_types.get(nid, '?')})"
        if nid not in saved:
            missing.append(label)
            continue
        if saved_types.get(nid) != node_types.get(nid):
            problems.append(f"{label} was a {saved_types.get(nid)} when the weights were saved")
            continue
        for key, shape in shapes.items():
            got = saved[nid].get(key)
            if got is None:
                problems.append(f"{label} {key}: missing, network needs {_shape_text(shape)}")
                continue
            got = np.asarray(got)
            if tuple(got.shape) != tuple(shape):
                have = _shape_text(got.shape)
                hint = " (transposed)" if len(shape) > 1 and tuple(got.shape) == tuple(shape)[::-1] else ""
                problems.append(f"{label} {key}: saved {have}{hint}, network needs {_shape_text(shape)}")
            elif got.dtype != np.float32:
                problems.append(f"{label} {key}: saved as {got.dtype.name}, network needs float32")
            elif not np.all(np.isfinite(got)):
                problems.append(f"{label} {key}: holds NaN or infinite values")
        unknown = sorted(set(saved[nid]) - set(shapes))
        if unknown:
            problems.append(f"{label} has saved {', '.join(unknown)} that it does not use")
    extra = sorted(set(saved) - set(expected))
    if missing:
        problems.append(f"no saved weights for {', '.join(missing)}")
    if extra:
        shown = ", ".join(f"{nid} ({saved_types.get(nid, '?')})" for nid in extra[:5])
        more = f" and {len(extra) - 5} more" if len(extra) > 5 else ""
        problems.append(
            f"saved layer(s) {shown}{more} are not in this network (weights saved for another project?)"
        )
    if problems:
        raise WeightsError(f"{source} does not fit this network: " + "; ".join(problems))


def check_fits(saved: Params, saved_types: dict[str, str], expected, network, source: str) -> None:
    """check_compatible against ``network``: its nodes' types and names label the message."""
    check_compatible(
        saved,
        saved_types,
        expected,
        {nid: network.nodes[nid].type for nid in expected},
        {nid: network.nodes[nid].name for nid in expected},
        source,
    )
