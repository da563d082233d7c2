"""Project files: round trips, presets, and every kind of bad file refused clearly."""

from __future__ import annotations

import json
import os
import stat

import pytest

from nnviz.cli import dataset_context
from nnviz.core.datasets import DatasetSpec
from nnviz.core.graph import Network, analyze
from nnviz.core.presets import load_preset, preset_names, presets_dir
from nnviz.core.project import (
    FORMAT_VERSION,
    TRAINING_SETTINGS,
    Project,
    ProjectError,
    TrainingConfig,
    atomic_write,
)

PRESETS = preset_names()

REQUIRED_PRESETS = {
    "fashion-mlp-sigmoid",
    "digits-784-15-10",
    "mnist-mlp-256",
    "mnist-mlp-sgd",
    "mnist-cnn",
    "fashion-cnn",
    "spiral-playground",
}


def sample_project() -> Project:
    net = Network.chain(
        "Input",
        ("Dense", {"units": 4, "activation": "tanh"}),
        ("Dense", {"units": 2, "activation": "softmax"}),
        "Output",
    )
    net.move_node(next(iter(net.nodes)), (12.5, -3.0))
    return Project(
        net,
        DatasetSpec("spiral", n_samples=300, noise=0.1, seed=4),
        TrainingConfig(
            optimizer="rmsprop",
            learning_rate=0.02,
            batch_size=16,
            epochs=7,
            l2=0.001,
            seed=42,
            init="he_uniform",
        ),
        name="Spirale «ü»",
        description="unicode survives",
    )


def test_required_presets_ship():
    assert REQUIRED_PRESETS <= set(PRESETS)


def test_round_trip_sample(tmp_path):
    p = sample_project()
    path = p.save(tmp_path / "p.json")
    q = Project.load(path)
    assert q.to_dict() == p.to_dict()
    assert q.training.seed == 42 and q.network.nodes[next(iter(q.network.nodes))].position == (12.5, -3.0)
    data = json.loads(path.read_text("utf-8"))
    assert data["format"] == "nnviz-project" and data["format_version"] == FORMAT_VERSION
    # Saving again gives the same bytes (stable order).
    first = path.read_bytes()
    q.save(path)
    assert path.read_bytes() == first


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_round_trips_and_analyzes(name, tmp_path):
    p = load_preset(name)
    q = Project.load(p.save(tmp_path / f"{name}.json"))
    assert q.to_dict() == p.to_dict()
    assert p.to_dict() == json.loads((presets_dir() / f"{name}.json").read_text("utf-8"))
    ctx = dataset_context(p.dataset, None)
    analysis = analyze(p.network, ctx)
    assert analysis.ok, analysis.messages(p.network)
    assert p.training.validate() == [] and p.dataset.validate() == []
    assert p.name and p.description


def test_preset_contents_match_the_issue():
    digits = load_preset("digits-784-15-10")
    assert analyze(digits.network, dataset_context(digits.dataset, None)).total_params == 11935
    assert digits.network.nodes_of_type("Output")[0].params["loss"] == "mse"
    assert digits.training.optimizer == "sgd" and digits.dataset.name == "mnist"
    fashion = load_preset("fashion-mlp-sigmoid")
    assert fashion.dataset.name == "fashion-mnist" and fashion.training.optimizer == "adam"
    assert fashion.training.epochs == 5
    assert [n.params["units"] for n in fashion.network.nodes_of_type("Dense")] == [128, 10]
    sgd = load_preset("mnist-mlp-sgd")
    assert sgd.training.optimizer == "sgd" and sgd.training.max_steps == 1000
    for name in ("mnist-cnn", "fashion-cnn"):
        types = [load_preset(name).network.nodes[n].type for n in analyze(load_preset(name).network).order]
        assert types.count("Conv2D") == 2 and "Flatten" in types
    assert load_preset("spiral-playground").dataset.name == "spiral"


def test_unknown_preset_lists_known_names():
    with pytest.raises(ProjectError, match="no preset called 'nope'.*xor-one-hidden"):
        load_preset("nope")


# ---------------------------------------------------------------- bad files


def _valid_dict() -> dict:
    return sample_project().to_dict()


def _bad_files() -> dict[str, bytes]:
    good = json.dumps(_valid_dict(), indent=2).encode()
    d = _valid_dict()
    newer = {**d, "format_version": FORMAT_VERSION + 1}
    bad_lr = {**d, "training": {**d["training"], "learning_rate": -1}}
    bad_batch = {**d, "training": {**d["training"], "batch_size": 2.5}}
    bad_setting = {**d, "training": {**d["training"], "warp_speed": True}}
    unknown_ds = {**d, "dataset": {**d["dataset"], "name": "imagenet"}}
    bad_ds_value = {**d, "dataset": {**d["dataset"], "test_ratio": 3.0}}
    bad_ds_type = {**d, "dataset": {**d["dataset"], "n_samples": "many"}}
    bad_net = {**d, "network": {"nodes": [{"type": "Teleporter", "id": "x"}], "edges": []}}
    no_training = {k: v for k, v in d.items() if k != "training"}
    return {
        "empty": b"",
        "blank": b"  \n\t ",
        "binary": bytes([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) + bytes(range(256)),
        "truncated": good[: len(good) // 2],
        "not-json": b"format = nnviz\n",
        "other-program": json.dumps({"version": 4, "cells": [], "metadata": {}}).encode(),
        "json-list": b"[1, 2, 3]",
        "newer": json.dumps(newer).encode(),
        "no-version": json.dumps({k: v for k, v in d.items() if k != "format_version"}).encode(),
        "bad-learning-rate": json.dumps(bad_lr).encode(),
        "bad-batch": json.dumps(bad_batch).encode(),
        "bad-setting": json.dumps(bad_setting).encode(),
        "unknown-dataset": json.dumps(unknown_ds).encode(),
        "bad-dataset-value": json.dumps(bad_ds_value).encode(),
        "bad-dataset-type": json.dumps(bad_ds_type).encode(),
        "bad-network": json.dumps(bad_net).encode(),
        "no-training": json.dumps(no_training).encode(),
        "name-not-text": json.dumps({**d, "name": 5}).encode(),
    }


EXPECT = {
    "empty": "is empty",
    "blank": "is empty",
    "binary": "not a text file",
    "truncated": "truncated",
    "not-json": "not valid JSON",
    "other-program": "not an nnviz project",
    "json-list": "not an nnviz project",
    "newer": "newer nnviz",
    "no-version": "format_version",
    "bad-learning-rate": "learning rate",
    "bad-batch": "batch size",
    "bad-setting": "warp_speed",
    "unknown-dataset": "imagenet",
    "bad-dataset-value": "Test ratio",
    "bad-dataset-type": "n_samples",
    "bad-network": "Teleporter",
    "no-training": "training",
    "name-not-text": "text",
}


@pytest.mark.parametrize("case", list(EXPECT))
def test_bad_file_is_refused_naming_file_and_untouched(case, tmp_path):
    data = _bad_files()[case]
    path = tmp_path / f"{case}.json"
    path.write_bytes(data)
    with pytest.raises(ProjectError) as info:
        Project.load(path)
    msg = str(info.value)
    assert str(path) in msg
    assert EXPECT[case] in msg, msg
    assert "\n" not in msg.strip() or case.startswith("bad")
    assert path.read_bytes() == data  # never rewritten
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ProjectError, match="no such file") as info:
        Project.load(tmp_path / "missing.json")
    assert str(tmp_path / "missing.json") in str(info.value)
    with pytest.raises(ProjectError, match="is a folder"):
        Project.load(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_utf8_bom_is_accepted(tmp_path):
    """Some Windows editors write a BOM; the file is still the same project."""
    path = tmp_path / "bom.json"
    d = _valid_dict()
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(d).encode())
    assert Project.load(path).to_dict() == d


def test_out_of_range_layer_parameters_load_and_analysis_names_the_node(tmp_path):
    d = _valid_dict()
    d["network"]["nodes"][1]["params"]["units"] = 0
    path = tmp_path / "p.json"
    path.write_text(json.dumps(d))
    p = Project.load(path)  # opens, so the user can fix it in the editor
    msgs = analyze(p.network, dataset_context(p.dataset, None)).messages(p.network)
    assert any(m.startswith("dense_1 (Dense): units must be at least 1") for m in msgs), msgs


def test_training_config_validation_messages():
    assert TrainingConfig().validate() == []
    bad = TrainingConfig(
        optimizer="lbfgs",
        learning_rate=float("nan"),
        momentum=1.0,
        batch_size=0,
        epochs=True,
        max_steps=-1,
        init="ones",
        l1=-1,
        l2=11,
        seed=-5,
    )
    problems = bad.validate()
    assert len(problems) == 10, problems
    for word in (
        "optimizer",
        "learning rate",
        "momentum",
        "batch size",
        "epochs",
        "max steps",
        "initialisation",
        "L1",
        "L2",
        "seed",
    ):
        assert any(word in p for p in problems), word


def test_every_training_setting_has_one_entry_in_the_table_validation_reads():
    assert list(TRAINING_SETTINGS) == [f for f in TrainingConfig().to_dict()]
    for name, setting in TRAINING_SETTINGS.items():
        default = getattr(TrainingConfig(), name)
        assert setting.problem(default) is None and type(default) is setting.kind, name
    # the edges a project file may hold: a seed past a C int, tiny rates, momentum close to 1
    edge = TrainingConfig(seed=2**32 - 1, learning_rate=1e-9, momentum=0.999, l1=1e-12, max_steps=10**12)
    assert edge.validate() == []
    seed = TRAINING_SETTINGS["seed"]
    assert (seed.minimum, seed.maximum) == (0, 2**32 - 1)
    assert TrainingConfig(seed=2**32).validate() == [
        "seed must be a whole number from 0 to 4294967295 (got 4294967296)"
    ]
    lr = TRAINING_SETTINGS["learning_rate"]
    assert lr.problem(0.0) and lr.problem(100.5) and lr.problem(100.0) is None
    assert TRAINING_SETTINGS["momentum"].problem(1.0) == "momentum must be at least 0 and below 1 (got 1.0)"
    assert TRAINING_SETTINGS["epochs"].problem(2.0)  # a whole number is an int, in files too
    assert TRAINING_SETTINGS["optimizer"].rule().startswith("one of sgd, ")


# ---------------------------------------------------------------- saving


def test_save_is_atomic_when_serialisation_fails(tmp_path):
    path = tmp_path / "p.json"
    sample_project().save(path)
    before = path.read_bytes()
    broken = sample_project()
    broken.network.nodes[next(iter(broken.network.nodes))].params["oops"] = object()
    with pytest.raises(ProjectError) as info:
        broken.save(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json"]


def test_save_refuses_values_that_would_not_load_back(tmp_path):
    path = tmp_path / "p.json"
    p = sample_project()
    p.network.move_node(next(iter(p.network.nodes)), (float("nan"), 0.0))
    with pytest.raises(ProjectError):
        p.save(path)
    assert not path.exists()


def test_atomic_write_failure_leaves_old_file(tmp_path, monkeypatch):
    path = tmp_path / "p.json"
    path.write_bytes(b"old")

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(ProjectError, match="No space left"):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]


def test_save_into_unwritable_place_names_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ProjectError) as info:
        sample_project().save(blocker / "sub" / "p.json")
    assert str(blocker / "sub" / "p.json") in str(info.value)


def test_saved_file_is_readable_by_others(tmp_path):
    """The temporary file's private 0600 mode must not stick to the saved project."""
    old = os.umask(0o022)
    try:
        path = sample_project().save(tmp_path / "p.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
