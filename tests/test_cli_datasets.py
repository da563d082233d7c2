"""The CLI's dataset parts read the catalogue: `nnviz datasets`, --dataset, titles, help."""

from __future__ import annotations

import dataclasses
import json

import pytest

from nnviz.cli import build_parser, main
from nnviz.core import datasets as D


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_datasets_lists_the_catalogue(capsys):
    code, out, _ = cli(capsys, "datasets")
    assert code == 0
    listed = [line.split()[0] for line in out.splitlines()]
    assert listed == [n for n in D.names() if D.entry(n).kind != "files"]
    assert "MNIST digits" in out and "28×28×1, 10 classes" in out


def test_summary_names_each_image_set_by_its_title(capsys, monkeypatch):
    """The CLI used to call every image set that is not MNIST 'Fashion-MNIST'."""
    kmnist = dataclasses.replace(D.entry("mnist"), name="kmnist", title="Kuzushiji-MNIST")
    monkeypatch.setitem(D.CATALOGUE, "kmnist", kmnist)
    for name, title in (
        ("mnist", "MNIST digits"),
        ("fashion-mnist", "Fashion-MNIST"),
        ("kmnist", "Kuzushiji-MNIST"),
    ):
        code, out, err = cli(capsys, "summary", "--preset", "mnist-cnn", "--dataset", name)
        assert code == 0, err
        assert f"on {title} (input 28×28×1, 10 classes)" in out


def test_dataset_option_offers_the_catalogue():
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices
    for command in ("train", "summary", "surface"):
        (action,) = [a for a in sub[command]._actions if a.dest == "dataset"]
        assert list(action.choices) == [n for n in D.names() if D.entry(n).kind != "files"]
    help_text = sub["train"].format_help()
    assert all(f"{n}/" in help_text for n in D.names("image"))


def test_unknown_dataset_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as ei:
        main(["summary", "--preset", "xor-one-hidden", "--dataset", "cifar"])
    assert ei.value.code == 2
    _, err = capsys.readouterr()
    assert "invalid choice: 'cifar'" in err


def test_cli_lists_and_trains_moons(capsys):
    code, out, _ = cli(capsys, "datasets")
    assert code == 0 and any(line.split()[:2] == ["moons", "Moons"] for line in out.splitlines())
    code, out, err = cli(
        capsys, "train", "--preset", "xor-one-hidden", "--dataset", "moons", "--epochs", "3", "--json"
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["epochs"] == 3 and result["test_accuracy"] > 0.7
