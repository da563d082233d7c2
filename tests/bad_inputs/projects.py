"""A generated corpus of bad project files: every class of damage nnviz must refuse with a message.

``CASES`` is a list of ``Case(name, data, expect)``: ``data`` is the file's bytes, or a
builder that makes the file at a path (a named pipe, a folder, a link to a device, a
file too large to keep in this list); ``expect`` is a phrase the message must hold.
``write(case, folder)`` puts a case on disk and returns its path. The valid project the
cases damage is the ``xor-one-hidden`` preset, whose toy data needs no download.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from nnviz.core.graph import MAX_NODES
from nnviz.core.presets import load_preset
from nnviz.core.project import FORMAT_VERSION, MAX_DEPTH, MAX_FILE_BYTES, MAX_TEXT

Builder = Callable[[Path], None]


class Case(NamedTuple):
    """One bad project file: its name, its bytes (or how to make it) and what its message must say."""

    name: str
    data: bytes | Builder
    expect: str


def valid() -> dict:
    """The plain data of a valid project, fresh each call so a case may damage it."""
    return load_preset("xor-one-hidden").to_dict()


def _dumps(data) -> bytes:
    return json.dumps(data, indent=2).encode()


def _with(change: Callable[[dict], object]) -> bytes:
    d = valid()
    change(d)
    return _dumps(d)


def _node(d: dict, i: int = 1) -> dict:
    return d["network"]["nodes"][i]  # node 1 is the first Dense of xor-one-hidden


def _set(path: tuple, value) -> Callable[[dict], None]:
    def change(d: dict) -> None:
        target = d
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _raw_value(path: tuple, literal: str) -> bytes:
    """The valid project with ``literal`` written as is (not as JSON would write it) at ``path``."""
    marker = "@@RAW@@"
    text = _with(_set(path, marker)).decode()
    return text.replace(f'"{marker}"', literal).encode()


def _nested(levels: int, opener: str = "[") -> str:
    """``levels`` lists (or objects) inside each other around a 1."""
    if opener == "{":
        return '{"a": ' * levels + "1" + "}" * levels
    return "[" * levels + "1" + "]" * levels


def _truncations(count: int) -> list[Case]:
    good = _dumps(valid())
    cuts = sorted({max(1, len(good) * k // (count + 1)) for k in range(1, count + 1)})
    # Cuts right after the opening and just before the last brace too: the ends are the tricky part.
    cuts = sorted({1, 2, *cuts, len(good) - 2})
    return [Case(f"truncated-at-{c}", good[:c], "truncated") for c in cuts]


def _many_nodes(path: Path) -> None:
    d = valid()
    nodes = [{"id": f"n{i}", "type": "Dense", "params": {}} for i in range(MAX_NODES + 1)]
    d["network"] = {"nodes": nodes, "edges": []}
    path.write_bytes(json.dumps(d).encode())


def _huge_file(path: Path) -> None:
    # Valid JSON to the end (whitespace after the object), just over the limit.
    body = json.dumps(valid()).encode()
    path.write_bytes(body + b" " * (MAX_FILE_BYTES + 1 - len(body)))


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _folder(path: Path) -> None:
    path.mkdir()
    (path / "inside.json").write_bytes(_dumps(valid()))


def _device(path: Path) -> None:
    path.symlink_to(os.devnull)


NON_REGULAR = {"named-pipe": "named pipe", "folder": "folder", "device-link": "device"}


def _cases() -> list[Case]:
    d = valid()
    first_id = d["network"]["nodes"][0]["id"]
    lone = "\ud800"
    cases = [
        # a node "type" that is not a name
        Case("type-list", _with(lambda d: _node(d).update(type=["Dense"])), "unknown type"),
        Case("type-object", _with(lambda d: _node(d).update(type={"name": "Dense"})), "unknown type"),
        Case("type-number", _with(lambda d: _node(d).update(type=5)), "unknown type"),
        Case("type-null", _with(lambda d: _node(d).update(type=None)), "unknown type"),
        Case("type-bool", _with(lambda d: _node(d).update(type=True)), "unknown type"),
        Case("type-lowercase", _with(lambda d: _node(d).update(type="dense")), "unknown type"),
        Case("type-long", _with(lambda d: _node(d).update(type="D" * 5000)), "characters"),
        # nesting
        Case(
            "deep-list-in-params",
            _raw_value(("network", "nodes", 1, "params", "units"), _nested(1000)),
            "nested",
        ),
        Case("deep-object-in-description", _raw_value(("description",), _nested(1000, "{")), "nested"),
        Case("deep-100k", _raw_value(("training", "seed"), _nested(100_000)), "nested"),
        Case("deep-top-level", _nested(5000).encode(), "nested"),
        Case(
            "deep-just-over-limit",
            _raw_value(("network", "nodes", 1, "params", "units"), _nested(MAX_DEPTH)),
            "nested",
        ),
        # numbers
        Case("int-5000-digits", _raw_value(("network", "nodes", 1, "params", "units"), "9" * 5000), "digits"),
        Case("int-4301-digits", _raw_value(("training", "seed"), "1" * 4301), "digits"),
        Case("int-negative-5000-digits", _raw_value(("training", "epochs"), "-" + "7" * 5000), "digits"),
        Case(
            "int-309-digits-units",
            _raw_value(("network", "nodes", 1, "params", "units"), "1" + "0" * 308),
            "309 digits",
        ),
        Case(
            "int-309-digits-position",
            _raw_value(("network", "nodes", 0, "position", 0), "1" + "0" * 308),
            "309 digits",
        ),
        Case("int-beyond-any-setting", _with(_set(("training", "batch_size"), 10**18)), "far beyond"),
        Case("float-overflow", _raw_value(("training", "learning_rate"), "1e999"), "too large"),
        Case("nan", _raw_value(("training", "learning_rate"), "NaN"), "NaN"),
        Case("infinity", _raw_value(("dataset", "noise"), "Infinity"), "Infinity"),
        Case("minus-infinity", _raw_value(("network", "nodes", 0, "position", 1), "-Infinity"), "-Infinity"),
        # text that is not text
        Case("surrogate-node-name", _with(lambda d: _node(d).update(name="dense" + lone)), "surrogate"),
        Case("surrogate-project-name", _with(_set(("name",), lone + "xor")), "surrogate"),
        Case("surrogate-description", _with(_set(("description",), "about " + "\udfff")), "surrogate"),
        Case("surrogate-dataset", _with(_set(("dataset", "name"), "xor" + lone)), "surrogate"),
        Case("surrogate-param-key", _with(lambda d: _node(d)["params"].update({lone: 1})), "surrogate"),
        Case(
            "surrogate-param-value",
            _with(_set(("network", "nodes", 1, "params", "activation"), lone)),
            "surrogate",
        ),
        Case("surrogate-optimizer", _with(_set(("training", "optimizer"), "adam" + lone)), "surrogate"),
        Case("surrogate-node-id", _with(lambda d: _node(d, 0).update(id=lone)), "surrogate"),
        Case("surrogate-edge", _with(lambda d: d["network"]["edges"][0].update(source=lone)), "surrogate"),
        Case("surrogate-top-key", _with(lambda d: d.update({lone: 0})), "surrogate"),
        # names
        Case("name-blank", _with(lambda d: _node(d).update(name="   ")), "blank"),
        Case(
            "name-control-character", _with(lambda d: _node(d).update(name="dense\n1")), "control character"
        ),
        Case("name-too-long", _with(lambda d: _node(d).update(name="n" * 201)), "longer than"),
        Case("name-number", _with(lambda d: _node(d).update(name=7)), "must be text"),
        Case("text-too-long", _with(_set(("dataset", "path"), "p" * (MAX_TEXT + 1))), "characters"),
        Case("duplicate-node-id", _with(lambda d: _node(d).update(id=first_id)), "id"),
        # too big, not a file
        Case("too-many-nodes", _many_nodes, f"{MAX_NODES:,}"),
        Case("file-too-large", _huge_file, "bytes"),
        Case("named-pipe", _fifo, "named pipe"),
        Case("folder", _folder, "folder"),
        Case("device-link", _device, "device"),
        # messages to mend
        Case("unterminated-string", b'{"format": "nnviz-project", "name": "half', "truncated"),
        Case("format-version-0", _with(_set(("format_version",), 0)), "found 0"),
        Case("format-version-negative", _with(_set(("format_version",), -5)), "found -5"),
        Case("format-version-string", _with(_set(("format_version",), "1")), "found '1'"),
        Case("format-version-float", _with(_set(("format_version",), 1.0)), "found 1.0"),
        Case("format-version-bool", _with(_set(("format_version",), True)), "found True"),
        Case("format-version-null", _with(_set(("format_version",), None)), "found None"),
        Case("format-version-missing", _with(lambda d: d.pop("format_version")), "found none"),
        Case("format-version-newer", _with(_set(("format_version",), FORMAT_VERSION + 1)), "newer nnviz"),
        Case(
            "edge-missing-source", _with(lambda d: d["network"]["edges"][0].update(source="ghost")), "'ghost'"
        ),
        Case(
            "edge-missing-target",
            _with(lambda d: d["network"]["edges"][-1].update(target="nowhere")),
            "'nowhere'",
        ),
        Case("edge-cycle", _with(_add_cycle), "cycle"),
        Case(
            "unknown-parameter", _with(lambda d: _node(d)["params"].update(bogus_param=1)), "Dense has units"
        ),
        Case("not-json", b"format = nnviz\n", "not valid JSON"),
        Case("empty", b"", "is empty"),
        Case("binary", bytes(range(256)), "not a text file"),
    ]
    return cases + _truncations(24)


def _add_cycle(d: dict) -> None:
    """dense_1 becomes an Add (any number of inputs), and dense_2 feeds back into it."""
    nodes = d["network"]["nodes"]
    nodes[1].update(type="Add", params={})
    d["network"]["edges"].append({"source": nodes[2]["id"], "target": nodes[1]["id"]})


CASES: list[Case] = _cases()


def write(case: Case, folder: Path) -> Path:
    """Put ``case`` in ``folder`` (named after it) and return its path."""
    path = Path(folder) / f"{case.name}.json"
    if callable(case.data):
        case.data(path)
    else:
        path.write_bytes(case.data)
    return path


def big_project(n_nodes: int) -> dict:
    """A valid project of ``n_nodes`` nodes: Input, residual blocks (Dense, Dense, Add) and an Output.

    Its edges are listed last to first and every other node has no name, the order and
    gaps that cost a naive loader the most. Large cases and the load benchmark use it.
    """
    d = valid()
    nodes = [{"id": "n0", "type": "Input", "name": "input_1", "params": {}}]
    edges = []
    prev, i = "n0", 1
    while i + 3 <= n_nodes - 2:
        a, b, add = f"n{i}", f"n{i + 1}", f"n{i + 2}"
        for nid, type_name, params in (
            (a, "Dense", {"units": 4, "activation": "tanh"}),
            (b, "Dense", {"units": 4, "activation": "tanh"}),
            (add, "Add", {}),
        ):
            node = {"id": nid, "type": type_name, "params": params, "position": [i * 10.0, 0.0]}
            if int(nid[1:]) % 2:
                node["name"] = f"node_{nid}"
            nodes.append(node)
        if prev == "n0":  # an Add needs equal shapes: the first block starts from a Dense
            nodes[-1]["type"], nodes[-1]["params"] = "Dense", {"units": 4, "activation": "tanh"}
            edges += [(prev, a), (a, b), (b, add)]
        else:
            edges += [(prev, a), (a, b), (b, add), (prev, add)]
        prev, i = add, i + 3
    while i < n_nodes - 2:
        nodes.append({"id": f"n{i}", "type": "Dense", "params": {"units": 4, "activation": "tanh"}})
        edges.append((prev, f"n{i}"))
        prev, i = f"n{i}", i + 1
    nodes.append(
        {"id": f"n{i}", "type": "Dense", "name": "last", "params": {"units": 2, "activation": "softmax"}}
    )
    edges.append((prev, f"n{i}"))
    nodes.append({"id": "out", "type": "Output", "name": "output_1", "params": {"loss": "cross_entropy"}})
    edges.append((f"n{i}", "out"))
    d["network"] = {"nodes": nodes, "edges": [{"source": s, "target": t} for s, t in reversed(edges)]}
    return d
