"""A corpus of bad weights files, made from one good RunState.

``bad_weights_files(good)`` returns ``{name: BadWeights}``: the file's bytes, whether it is
refused when read (``on_load``) or only when fitted to the network it was saved for,
and a fragment the message must hold. Files that must get past the checksum to show
their fault are packed with ``weights.pack``, so each one tests the check it names.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass

import msgpack
import numpy as np

from nnviz.engine.weights import RunState, encode_array, pack, state_document


@dataclass(frozen=True)
class BadWeights:
    data: bytes
    expect: str  # a fragment of the message (lower case)
    on_load: bool = True  # refused by load_run_state; else by check_compatible


def _first(doc: dict, key: str = "kernel") -> tuple[str, dict]:
    """The first node whose weights hold ``key``, and those weights (in ``doc``)."""
    for nid, p in doc["params"].items():
        if key in p:
            return nid, p
    raise ValueError(f"no node has a {key}")


def _with_kernel(doc: dict, array: np.ndarray) -> bytes:
    doc = copy.deepcopy(doc)
    _, p = _first(doc)
    p["kernel"] = encode_array(array)
    return pack(doc)


def _changed(doc: dict, **changes) -> bytes:
    doc = copy.deepcopy(doc)
    for key, value in changes.items():
        if value is _DROP:
            doc.pop(key, None)
        else:
            doc[key] = value
    return pack(doc)


_DROP = object()


def _envelope(**fields) -> bytes:
    base = {"format": "nnviz-weights", "format_version": 2, "sha256": "0" * 64, "payload": b""}
    base.update(fields)
    return msgpack.packb({k: v for k, v in base.items() if v is not _DROP}, use_bin_type=True)


def bad_weights_files(good: RunState) -> dict[str, BadWeights]:
    doc = state_document(good)
    raw = pack(doc)
    nid, p = _first(doc)
    kernel = good.params[nid]["kernel"]
    out: dict[str, BadWeights] = {}

    # ---- damaged bytes: found by the checksum or the unpacker
    at = raw.find(kernel.tobytes())
    assert at > 0, "the kernel's bytes are in the file"
    flipped = bytearray(raw)
    flipped[at + kernel.nbytes // 2] ^= 0x01
    out["flipped-byte-in-kernel"] = BadWeights(bytes(flipped), "damaged")
    flipped = bytearray(raw)
    flipped[-1] ^= 0x40
    out["flipped-last-byte"] = BadWeights(bytes(flipped), "damaged")
    out["truncated-half"] = BadWeights(raw[: len(raw) // 2], "damaged")
    out["truncated-one-byte"] = BadWeights(raw[:-1], "damaged")
    out["empty"] = BadWeights(b"", "damaged")
    out["garbage"] = BadWeights(bytes(range(256)) * 4, "")
    out["json-text"] = BadWeights(json.dumps({"format": "nnviz-weights"}).encode(), "")
    out["deeply-nested"] = BadWeights(b"\x91" * 100_000 + b"\xc0", "damaged")
    out["project-json"] = BadWeights(b'{"format": "nnviz-project", "format_version": 1}', "")

    # ---- the envelope
    out["other-msgpack"] = BadWeights(msgpack.packb({"a": [1, 2, 3]}), "not an nnviz weights file")
    out["wrong-format-name"] = BadWeights(_envelope(format="nnviz-project"), "not an nnviz weights file")
    out["newer-version"] = BadWeights(_envelope(format_version=99), "newer")
    out["version-1-flax"] = BadWeights(
        msgpack.packb({"format": "nnviz-weights", "format_version": 1, "step": 0, "types": {}, "params": {}}),
        "earlier",
    )
    out["version-string"] = BadWeights(_envelope(format_version="2"), "format version")
    out["no-checksum"] = BadWeights(_envelope(sha256=_DROP), "damaged")
    out["payload-not-bytes"] = BadWeights(_envelope(payload="text"), "damaged")
    nested = b"\x91" * 100_000 + b"\xc0"
    out["payload-deeply-nested"] = BadWeights(
        msgpack.packb(
            {
                "format": "nnviz-weights",
                "format_version": 2,
                "sha256": hashlib.sha256(nested).hexdigest(),
                "payload": nested,
            },
            use_bin_type=True,
        ),
        "damaged",
    )
    out["checksum-of-other-payload"] = BadWeights(
        _envelope(payload=msgpack.packb(doc, use_bin_type=True)), "checksum"
    )

    # ---- arrays that are not float32 or not finite
    out["int32-kernel"] = BadWeights(_with_kernel(doc, kernel.astype(np.int32)), "int32")
    out["bool-kernel"] = BadWeights(_with_kernel(doc, kernel > 0), "bool")
    out["float16-kernel"] = BadWeights(_with_kernel(doc, kernel.astype(np.float16)), "float16")
    out["float64-kernel"] = BadWeights(_with_kernel(doc, kernel.astype(np.float64)), "float64")
    out["complex-kernel"] = BadWeights(_with_kernel(doc, kernel.astype(np.complex64)), "complex64")
    nan = kernel.copy()
    nan.flat[0] = np.nan
    out["nan-kernel"] = BadWeights(_with_kernel(doc, nan), "nan")
    inf = kernel.copy()
    inf.flat[-1] = -np.inf
    out["inf-kernel"] = BadWeights(_with_kernel(doc, inf), "infinite")
    d = copy.deepcopy(doc)
    _first(d)[1]["kernel"]["dtype"] = "|O"
    out["object-dtype"] = BadWeights(pack(d), "unknown number type")
    d = copy.deepcopy(doc)
    _first(d)[1]["kernel"]["dtype"] = "not-a-dtype"
    out["unknown-dtype"] = BadWeights(pack(d), "unknown number type")
    d = copy.deepcopy(doc)
    _first(d)[1]["kernel"]["shape"] = [*kernel.shape, 2]
    out["shape-larger-than-data"] = BadWeights(pack(d), "size does not match")
    d = copy.deepcopy(doc)
    _first(d)[1]["kernel"]["shape"] = [-1]
    out["negative-shape"] = BadWeights(pack(d), "size does not match")
    d = copy.deepcopy(doc)
    _first(d)[1]["kernel"] = [1.0, 2.0]
    out["kernel-a-list"] = BadWeights(pack(d), "not an array")
    if doc["opt_leaves"]:
        leaves = copy.deepcopy(doc["opt_leaves"])
        i = next(i for i, e in enumerate(leaves) if e["dtype"] == "<f4")
        bad = np.frombuffer(leaves[i]["data"], "<f4").copy()
        bad.flat[0] = np.nan
        leaves[i] = encode_array(bad.reshape(leaves[i]["shape"]))
        out["nan-optimizer-state"] = BadWeights(_changed(doc, opt_leaves=leaves), "optimizer state")

    # ---- counters
    out["non-integer-step"] = BadWeights(_changed(doc, step=1.5), "step must be a whole number")
    out["string-step"] = BadWeights(_changed(doc, step="12"), "step must be a whole number")
    out["bool-step"] = BadWeights(_changed(doc, step=True), "step must be a whole number")
    out["negative-step"] = BadWeights(_changed(doc, step=-3), "step must be a whole number")
    out["negative-epoch"] = BadWeights(_changed(doc, epoch=-1), "epoch must be a whole number")
    out["float-position"] = BadWeights(_changed(doc, position=0.5), "position must be a whole number")
    out["history-with-text"] = BadWeights(_changed(doc, history=[{"epoch": "one"}]), "history")
    out["fingerprint-a-number"] = BadWeights(_changed(doc, fingerprint=7), "fingerprint")

    # ---- structure
    out["missing-params"] = BadWeights(_changed(doc, params=_DROP), "no parameters")
    out["missing-types"] = BadWeights(_changed(doc, types=_DROP), "no parameters")
    d = copy.deepcopy(doc)
    del d["types"][nid]
    out["node-without-type"] = BadWeights(pack(d), "no layer type")
    d = copy.deepcopy(doc)
    d["params"][nid] = {}
    out["node-with-nothing"] = BadWeights(pack(d), "damaged")

    # ---- fine on disk, but not for this network: refused when fitted
    out["transposed-kernel"] = BadWeights(
        _with_kernel(doc, np.ascontiguousarray(kernel.T)), "transposed", False
    )
    out["other-shape"] = BadWeights(
        _with_kernel(doc, np.zeros((kernel.shape[0] + 1, 3), np.float32)), "needs", False
    )
    d = copy.deepcopy(doc)
    d["params"] = {"x" + k: v for k, v in d["params"].items()}
    d["types"] = {"x" + k: v for k, v in d["types"].items()}
    out["other-node-ids"] = BadWeights(pack(d), "not in this network", False)
    d = copy.deepcopy(doc)
    d["types"][nid] = "Conv2D"
    out["other-type"] = BadWeights(pack(d), "was a conv2d", False)
    d = copy.deepcopy(doc)
    del d["params"][nid]
    del d["types"][nid]
    out["one-layer-missing"] = BadWeights(pack(d), "no saved weights for", False)
    d = copy.deepcopy(doc)
    d["params"]["extra"] = copy.deepcopy(d["params"][nid])
    d["types"]["extra"] = d["types"][nid]
    out["extra-layer"] = BadWeights(pack(d), "not in this network", False)
    d = copy.deepcopy(doc)
    _first(d, "bias")[1].pop("bias")
    out["no-bias"] = BadWeights(pack(d), "bias: missing", False)
    d = copy.deepcopy(doc)
    _first(d)[1]["gamma"] = encode_array(np.ones(2, np.float32))
    out["unknown-array"] = BadWeights(pack(d), "does not use", False)
    return out
