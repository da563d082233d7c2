"""The weights file: a RunState comes back bit for bit, a changed byte is found, the window can
read it without JAX, and check_compatible says which node does not fit and how."""

from __future__ import annotations

import os
import subprocess
import sys

import msgpack
import numpy as np
import pytest

from nnviz.core.project import Project
from nnviz.engine.weights import (
    FORMAT_VERSION,
    RunState,
    WeightsError,
    check_compatible,
    load_run_state,
    load_weights,
    save_run_state,
    save_weights,
    training_fingerprint,
)

from .test_session import mlp, project


def state(**changes) -> RunState:
    rng = np.random.default_rng(0)
    values = {
        "params": {
            "a": {"kernel": rng.normal(size=(2, 4)).astype(np.float32), "bias": np.zeros(4, np.float32)},
            "b": {"kernel": rng.normal(size=(4, 2)).astype(np.float32), "bias": np.ones(2, np.float32)},
        },
        "node_types": {"a": "Dense", "b": "Dense"},
        "step": 23,
        "epoch": 2,
        "position": 3,
        "opt_leaves": (np.int32(23) * np.ones((), np.int32), rng.normal(size=(2, 4)).astype(np.float32)),
        "history": ({"epoch": 1, "step": 10, "train_loss": 0.5, "val_loss": float("nan")},),
        "fingerprint": "0123456789abcdef",
    }
    values.update(changes)
    return RunState(**values)


def test_a_run_state_comes_back_bit_for_bit(tmp_path):
    s = state()
    path = save_run_state(tmp_path / "run.weights.msgpack", s)
    back = load_run_state(path)
    assert (back.step, back.epoch, back.position, back.fingerprint) == (23, 2, 3, s.fingerprint)
    assert back.node_types == s.node_types
    for nid, p in s.params.items():
        for k, v in p.items():
            assert back.params[nid][k].dtype == np.float32
            assert back.params[nid][k].tobytes() == v.tobytes() and back.params[nid][k].shape == v.shape
    assert [x.dtype for x in back.opt_leaves] == [np.int32, np.float32]
    assert all(np.array_equal(x, y) for x, y in zip(back.opt_leaves, s.opt_leaves))
    assert back.history[0]["step"] == 10 and np.isnan(back.history[0]["val_loss"])
    params, types, step = load_weights(path)  # the weights alone, from the same file
    assert step == 23 and types == s.node_types and params.keys() == s.params.keys()


def test_big_endian_arrays_are_saved_as_their_values(tmp_path):
    k = np.arange(8, dtype=">f4").reshape(2, 4)
    path = save_weights(tmp_path / "w.msgpack", {"a": {"kernel": k}}, {"a": "Dense"}, step=4)
    params, _, step = load_weights(path)
    assert step == 4 and params["a"]["kernel"].dtype == np.float32
    np.testing.assert_array_equal(params["a"]["kernel"], k)


def test_every_changed_byte_of_the_weights_is_found(tmp_path):
    s = state()
    path = save_run_state(tmp_path / "w.msgpack", s)
    raw = path.read_bytes()
    kernel = s.params["a"]["kernel"].tobytes()
    at = raw.find(kernel)
    assert at > 0
    for i in range(0, len(kernel), 3):
        bad = bytearray(raw)
        bad[at + i] ^= 0x80
        path.write_bytes(bytes(bad))
        with pytest.raises(WeightsError, match="damaged"):
            load_run_state(path)


def test_a_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "w.msgpack"
    path.write_bytes(b"old contents")
    with pytest.raises(TypeError):
        save_run_state(path, state(params={"a": {"kernel": object()}}))
    with pytest.raises(ValueError):
        save_run_state(path, state(node_types={}))
    with pytest.raises(TypeError, match="float32"):  # no file is written that loading would refuse
        save_run_state(path, state(params={"a": {"kernel": np.zeros((2, 2), np.float64)}}))
    assert path.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["w.msgpack"]


def test_the_development_format_1_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "old.msgpack"
    path.write_bytes(
        msgpack.packb({"format": "nnviz-weights", "format_version": 1, "params": {}, "types": {}})
    )
    with pytest.raises(WeightsError, match="earlier development version.*train again") as info:
        load_run_state(path)
    assert str(path) in str(info.value) and FORMAT_VERSION == 2


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_named_pipe_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "pipe.weights.msgpack"
    os.mkfifo(fifo)
    with pytest.raises(WeightsError, match="not a regular file"):
        load_run_state(fifo)
    with pytest.raises(WeightsError, match="no such weights file"):
        load_run_state(tmp_path / "missing.msgpack")


def test_the_window_can_read_weights_without_jax():
    code = (
        "import sys, nnviz.engine.weights, nnviz.engine.messages; "
        "assert not {'jax', 'flax', 'optax'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": os.getcwd()})


def test_check_compatible_names_the_node_and_what_differs():
    saved = state().params
    types = {"a": "Dense", "b": "Dense"}
    expected = {"a": {"kernel": (2, 4), "bias": (4,)}, "b": {"kernel": (4, 2), "bias": (2,)}}
    names = {"a": "dense_1", "b": "dense_2"}
    check_compatible(saved, types, expected, types, names, "w")  # fits

    def refused(saved, saved_types=types):
        with pytest.raises(WeightsError) as info:
            check_compatible(saved, saved_types, expected, types, names, "the file w")
        assert str(info.value).startswith("the file w does not fit this network")
        return str(info.value)

    t = {**saved, "a": {**saved["a"], "kernel": saved["a"]["kernel"].T}}
    assert "dense_1 (Dense) kernel: saved 4×2 (transposed), network needs 2×4" in refused(t)
    i = {**saved, "b": {**saved["b"], "bias": saved["b"]["bias"].astype(np.int32)}}
    assert "dense_2 (Dense) bias: saved as int32, network needs float32" in refused(i)
    n = {**saved, "b": {**saved["b"], "bias": np.full(2, np.nan, np.float32)}}
    assert "dense_2 (Dense) bias: holds NaN" in refused(n)
    other = {"x" + k: v for k, v in saved.items()}
    msg = refused(other, {"x" + k: v for k, v in types.items()})
    assert "no saved weights for dense_1 (Dense), dense_2 (Dense)" in msg and "xa (Dense)" in msg
    assert "dense_2 (Dense) was a Conv2D" in refused(saved, {**types, "b": "Conv2D"})


def test_the_fingerprint_ignores_what_a_run_may_change():
    net = mlp()
    base = project(net, epochs=2)
    fp = training_fingerprint(base)

    def copy(change=None):
        other = Project.from_dict(base.to_dict())
        if change is not None:
            change(other)
        return other

    assert len(fp) == 16 and fp == training_fingerprint(copy()) == training_fingerprint(
        project(net, epochs=2)
    )
    assert training_fingerprint(base.with_training(learning_rate=0.5, epochs=9, max_steps=7)) == fp

    def rename(p):
        node = next(iter(p.network.nodes.values()))
        node.name, node.position = "renamed", (300.0, 40.0)
        p.name = "another name"

    assert training_fingerprint(copy(rename)) == fp

    def relu(p):
        p.network.nodes_of_type("Dense")[0].params["activation"] = "relu"

    for changed in (
        base.with_training(momentum=0.5),
        base.with_training(init="glorot_uniform" if base.training.init != "glorot_uniform" else "he_normal"),
        base.with_training(l1=0.001),
        base.with_training(seed=1),
        base.with_training(batch_size=20),
        base.with_training(optimizer="sgd"),
        copy(relu),
        project(net, epochs=2, dataset="circle"),
        project(net, epochs=2, validation_split=0.2),
        project(mlp(), epochs=2),  # other node ids: other weights
    ):
        assert training_fingerprint(changed) != fp
