"""Every bad dataset file of the corpus (tests/bad_inputs/datasets.py) through the CLI.

Each is answered with exit status 2 and a one-line message that names the file and the
problem, never a traceback, and the file is left as it was. Files once refused that
are fine (a quoted comma in a CSV, a header of numbered columns) must load. A run that
diverges keeps its last good weights: --save-weights writes them, --json says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nnviz.cli import main
from nnviz.core.datasets import DatasetSpec, load_dataset
from nnviz.core.presets import load_preset

from .bad_inputs.datasets import BAD_DATASETS, GOOD_DATASETS


def files_project(tmp_path: Path, data: Path) -> Path:
    """A project (the XOR example) whose dataset is the user's file ``data``."""
    project = load_preset("xor-one-hidden").with_training(epochs=1)
    project.dataset = DatasetSpec(name="files", path=str(data))
    return project.save(tmp_path / "project.json")


def contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_corpus_is_large_and_covers_every_format():
    assert len(BAD_DATASETS) >= 40
    for prefix in ("idx-", "npz-", "csv-"):
        assert sum(name.startswith(prefix) for name in BAD_DATASETS) >= 10, prefix


@pytest.mark.parametrize("case", sorted(BAD_DATASETS))
def test_bad_dataset_exits_2_naming_the_file_and_the_problem(case, tmp_path, capsys):
    bad = BAD_DATASETS[case]
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    path = bad.make(data_dir)
    project = files_project(tmp_path, path)
    before = contents(data_dir)
    code = main(["train", str(project)])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "Traceback" not in out + err and out == ""
    assert err.startswith("nnviz: ") and bad.culprit in err, err
    for word in bad.words:
        assert word in err, (word, err)
    assert contents(data_dir) == before  # nothing changed, nothing written beside it


@pytest.mark.parametrize("case", sorted(GOOD_DATASETS))
def test_files_once_refused_now_load(case, tmp_path):
    make, class_names = GOOD_DATASETS[case]
    path = make(tmp_path)
    d = load_dataset(DatasetSpec(name="files", path=str(path)))
    assert d.class_names == class_names and d.input_shape == (2,)
    assert len(d.x_train) + len(d.x_test) == 10  # a header is not a sample, every row is


def test_a_quoted_comma_csv_trains_through_the_cli(tmp_path, capsys):
    make, _ = GOOD_DATASETS["csv-quoted-comma-in-a-class-name"]
    code = main(["train", str(files_project(tmp_path, make(tmp_path))), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["epochs"] == 1


def test_csv_messages_count_rows_as_a_spreadsheet_does(tmp_path):
    """The header is row 1 and blank lines count: the same numbers in every message."""
    messages = []
    for body in ("label,x,y\n0,1,2\n\n1,2\n", "label,x,y\n0,1,2\n\n1,2,z\n", "label,x,y\n0,1,2\n\n1,2,nan\n"):
        p = tmp_path / "rows.csv"
        p.write_text(body)
        with pytest.raises(Exception) as e:
            load_dataset(DatasetSpec(name="files", path=str(p)))
        messages.append(str(e.value))
    assert all("row 4" in m for m in messages), messages


def test_a_diverged_run_still_saves_its_weights_and_prints_json(tmp_path, capsys):
    from nnviz.core.graph import Network
    from nnviz.core.project import Project, TrainingConfig
    from nnviz.engine.weights import load_weights

    net = Network.chain(
        "Input",
        ("Dense", {"units": 8, "activation": "relu"}),
        ("Dense", {"units": 2, "activation": "linear"}),
        ("Output", {"loss": "mse"}),
    )
    config = TrainingConfig(optimizer="sgd", learning_rate=100.0, batch_size=10, epochs=5)
    path = Project(net, DatasetSpec("circle", n_samples=200), config, name="diverges").save(
        tmp_path / "d.json"
    )
    weights = tmp_path / "w.msgpack"
    code = main(["train", str(path), "--json", "--save-weights", str(weights)])
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in out + err
    assert "diverged" in err and "lower learning rate" in err
    data = json.loads(out)  # was: nothing printed
    assert data["stopped"] is True and "diverged" in data["error"]
    kept = int(data["error"].split("weights from step ")[1].split()[0])
    assert data["steps"] == kept
    params, _, step = load_weights(weights)  # was: nothing written
    assert step == kept and params


def test_a_network_without_weights_is_told_there_is_nothing_to_learn(tmp_path, capsys):
    from nnviz.core.graph import Network
    from nnviz.core.project import Project, TrainingConfig

    net = Network.chain(
        "Input", ("Activation", {"function": "softmax"}), ("Output", {"loss": "cross_entropy"})
    )
    config = TrainingConfig(l2=0.1, epochs=1)
    path = Project(net, DatasetSpec("xor", n_samples=100), config, name="bare").save(tmp_path / "bare.json")
    code = main(["train", str(path)])
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in out + err
    assert "no weights, so there is nothing to learn" in err
