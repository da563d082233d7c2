"""The dataset catalogue: one entry per dataset, answering shape and classes without loading."""

from __future__ import annotations

import re

import numpy as np
import pytest

from nnviz.core import datasets as D
from nnviz.core.datasets import DatasetError, DatasetSpec, load_dataset
from nnviz.core.datasets.toy import GENERATORS

HEX64 = re.compile(r"[0-9a-f]{64}")


def test_every_toy_entry_has_a_generator_and_every_generator_an_entry():
    assert set(D.names("toy2d")) == set(GENERATORS)


@pytest.mark.parametrize("name", D.names("toy2d"))
def test_toy_entry_matches_what_loads(name):
    d = load_dataset(DatasetSpec(name=name, n_samples=40))
    e = D.entry(name)
    assert d.input_shape == D.input_shape(name) == e.sample_shape == (2,)
    assert d.n_classes == D.n_classes(name) == 2
    assert d.class_names == e.class_names and d.kind == e.kind


@pytest.mark.parametrize("name", D.names("image"))
def test_image_entries_are_complete(name):
    e = D.entry(name)
    assert D.input_shape(name) == (28, 28, 1) and D.n_classes(name) == 10 == len(e.class_names)
    assert tuple(f.name for f in e.files) == D.IDX_FILES
    for f in e.files:
        assert HEX64.fullmatch(f.sha256) and HEX64.fullmatch(f.sha256_raw), f
        assert f.filename == f.name + ".gz"
    assert e.mirrors and all(m.startswith(("https://", "http://")) and m.endswith("/") for m in e.mirrors)
    assert e.description and e.title


def test_image_shape_known_without_any_file(tmp_path, monkeypatch):
    """input_shape / n_classes read the catalogue only: no data folder, no download."""
    monkeypatch.setenv("NNVIZ_DATA_DIR", str(tmp_path / "nothing-here"))
    assert D.input_shape("fashion-mnist") == (28, 28, 1) and D.n_classes("fashion-mnist") == 10
    assert not (tmp_path / "nothing-here").exists()


def test_files_entry_knows_its_shape_only_once_read():
    assert D.input_shape("files") is None and D.n_classes("files") is None
    assert D.entry("files").kind == "files"


def test_titles_and_menu_text():
    assert D.title("mnist") == "MNIST digits" and D.title("fashion-mnist") == "Fashion-MNIST"
    assert D.entry("spiral").menu_text == "Spiral (toy 2D)"
    assert D.entry("mnist").menu_text == "MNIST digits (28×28)"
    assert D.title("no-such-set") == "no-such-set"


def test_unknown_name_is_a_dataset_error_listing_the_known_ones():
    with pytest.raises(DatasetError) as ei:
        D.entry("cifar")
    assert "cifar" in str(ei.value) and "mnist" in str(ei.value)
    assert DatasetSpec(name="cifar").validate()[0].startswith("Unknown dataset 'cifar'")


def test_derived_name_tuples_follow_the_catalogue():
    assert D.TOY_DATASETS == D.names("toy2d") and D.IMAGE_DATASETS == D.names("image")
    assert set(D.names()) == set(D.TOY_DATASETS) | set(D.IMAGE_DATASETS) | {"files"}


def test_an_image_entry_must_name_the_four_idx_files():
    with pytest.raises(ValueError, match="files"):
        D.DatasetEntry("broken", "image", "Broken", (28, 28, 1), ("a", "b"))
    with pytest.raises(ValueError, match="kind"):
        D.DatasetEntry("broken", "sound", "Broken", (100,))


def test_class_names_are_distinct():
    for name in D.names():
        names = D.entry(name).class_names
        assert len(set(names)) == len(names), name


def test_toy_points_fit_the_playground_plane():
    """Every toy set stays within about [-6, 6] like TensorFlow Playground's."""
    for name in D.names("toy2d"):
        x, _ = D.make_toy(name, 400, 0.0, 0)
        assert np.abs(x).max() <= 6.5, name
