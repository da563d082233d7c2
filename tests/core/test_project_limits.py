"""Limits of project files: linear-time loading and analysis, the node limit, what is refused on load."""

from __future__ import annotations

import json
import os
import sys

import pytest

from nnviz.core.graph import MAX_NODES, GraphError, Network, analyze
from nnviz.core.layers import Context
from nnviz.core.presets import load_preset
from nnviz.core.project import Project, ProjectError
from nnviz.core.settings import value_text
from tests.bad_inputs.projects import big_project, valid

CTX = Context((2,), 2, "xor")


def _load_and_analyze(path):
    project = Project.load(path)
    return project, analyze(project.network, CTX)


def _work(fn, *args) -> int:
    """Python-level work ``fn(*args)`` does: calls and lines run, counted by a tracer (no clock)."""
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        count += 1
        return tracer

    sys.settrace(tracer)
    try:
        fn(*args)
    finally:
        sys.settrace(None)
    return count


def test_load_and_analysis_of_10000_nodes_completes(tmp_path):
    path = tmp_path / "big.json"
    path.write_text(json.dumps(big_project(MAX_NODES)))
    project, analysis = _load_and_analyze(path)
    assert len(project.network.nodes) == MAX_NODES
    assert analysis.ok, analysis.messages(project.network)[:3]
    assert len(analysis.order) == MAX_NODES and analysis.shapes["out"] == (2,)


def test_load_and_analysis_work_grows_linearly(tmp_path):
    work = {}
    for n in (2_500, 10_000):
        path = tmp_path / f"{n}.json"
        path.write_text(json.dumps(big_project(n)))
        work[n] = _work(_load_and_analyze, path)
    ratio = work[10_000] / work[2_500]
    # Four times the nodes: about four times the work. The quadratic loader did 16 times
    # (and 60 times, with the edges listed backwards as here).
    assert 3.5 < ratio < 5, (work, ratio)


def test_one_node_over_the_limit_is_refused_without_building_it(tmp_path):
    d = big_project(MAX_NODES)
    d["network"]["nodes"].append({"id": "extra", "type": "Dense", "params": {}})
    path = tmp_path / "over.json"
    path.write_text(json.dumps(d))
    with pytest.raises(ProjectError, match=f"10,001 nodes; nnviz opens networks of at most {MAX_NODES:,}"):
        Project.load(path)
    with pytest.raises(GraphError, match="10,001 nodes"):
        Network.from_dict(d["network"])
    big = Network.from_dict(d["network"], max_nodes=None)  # the editor's own copies are not files
    assert len(big.copy().nodes) == MAX_NODES + 1


def test_every_cut_of_a_project_file_is_called_truncated(tmp_path):
    good = json.dumps(valid(), indent=2).encode()
    path = tmp_path / "cut.json"
    last = len(good.rstrip()) - 1  # good[:last] lacks only the closing brace
    # Every cut near the ends, every fifth between (each kind of token is cut somewhere).
    for end in sorted({*range(1, 60), *range(60, last - 60, 5), *range(last - 60, last + 1)}):
        path.write_bytes(good[:end])
        with pytest.raises(ProjectError) as info:
            Project.load(path)
        assert "looks truncated" in str(info.value), (end, good[end - 10 : end], str(info.value))


@pytest.mark.parametrize(
    "text,hint",
    [
        ('{"format": "nnviz-project", "x": [1, 2}', False),  # a bracket that does not match: broken
        ('{"format" "nnviz-project"}', False),
        ('{"format": "nnviz-project", "name": "a ] b { c', True),  # brackets inside text do not count
        ('{"a": tru', True),
        ('{"a": "\\', True),
    ],
)
def test_the_truncation_hint_only_for_json_that_ends_early(tmp_path, text, hint):
    path = tmp_path / "p.json"
    path.write_text(text)
    with pytest.raises(ProjectError) as info:
        Project.load(path)
    msg = str(info.value)
    assert ("looks truncated" in msg) is hint, msg
    assert "at at" not in msg and "(line 1, column" in msg


def test_a_message_never_holds_a_long_value_in_full():
    assert value_text(10**308).endswith("(309 digits)") and len(value_text(10**308)) < 80
    assert value_text("x" * 10_000).endswith("(10,002 characters)")
    assert value_text([1, 2]) == "[1, 2]"


def test_a_lone_surrogate_cannot_be_saved_either(tmp_path):
    project = load_preset("xor-one-hidden")
    node = next(iter(project.network.nodes.values()))
    node.name = "input\ud800"  # as only a broken program could put it there
    path = tmp_path / "p.json"
    path.write_text("old")
    with pytest.raises(ProjectError, match="was not saved"):
        project.save(path)
    assert path.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["p.json"]


def test_rename_refuses_what_a_file_may_not_hold():
    net = load_preset("xor-one-hidden").network
    nid = next(iter(net.nodes))
    for bad, expect in (("a\tb", "control character"), ("n" * 201, "longer than"), ("x\udc80", "surrogate")):
        with pytest.raises(GraphError, match=expect):
            net.rename(nid, bad)
    assert net.rename(nid, "  first  ") == "input_1" and net.nodes[nid].name == "first"


def test_edges_are_checked_as_connect_checks_them():
    d = valid()["network"]
    ids = [n["id"] for n in d["nodes"]]
    # a second input into a Dense comes before a cycle would: that is what connect says first
    d["edges"].append({"source": ids[2], "target": ids[1]})
    with pytest.raises(GraphError, match=r"edge #4: dense_1 \(Dense\) takes only one input"):
        Network.from_dict(d)
    d = valid()["network"]
    d["edges"].append(dict(d["edges"][0]))
    with pytest.raises(GraphError, match="edge #4: input_1 is already connected to dense_1"):
        Network.from_dict(d)
    d = valid()["network"]
    d["edges"].insert(0, {"source": ids[3], "target": ids[0]})
    with pytest.raises(GraphError, match="edge #1: output_1 is an Output"):
        Network.from_dict(d)


def test_nameless_nodes_get_names_no_other_node_has():
    d = valid()["network"]
    d["nodes"][2].pop("name")  # dense_2 goes nameless; dense_1 keeps its name
    d["nodes"][1]["name"] = "dense_2"
    net = Network.from_dict(d)
    names = [n.name for n in net.nodes.values()]
    assert len(set(names)) == len(names) and names[2] == "dense_1"
