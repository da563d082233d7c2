"""`nnviz surface`: the JSON it prints, the picture it writes, exit status 2 on bad input."""

from __future__ import annotations

import json

import pytest

from nnviz.cli import main
from nnviz.core.presets import load_preset


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture
def small_xor(tmp_path):
    """The xor preset on 120 points, one epoch: a run of a second or two."""
    project = load_preset("xor-one-hidden").with_training(epochs=1, batch_size=10)
    project.dataset = type(project.dataset)(**{**project.dataset.to_dict(), "n_samples": 120})
    return project.save(tmp_path / "xor.json")


def test_json_has_the_grid_the_path_and_seconds(capsys, small_xor):
    code, out, err = cli(capsys, "surface", str(small_xor), "--grid", "5", "--samples", "40", "--json")
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert data["method"] == "pca" and data["out"] is None  # --json alone writes no picture
    grid = data["grid"]
    assert len(grid["a"]) == 5 and len(grid["b"]) == 5
    assert len(grid["loss"]) == 5 and all(len(row) == 5 for row in grid["loss"])
    path = data["path"]
    assert path["steps"][0] == 0 and path["steps"][-1] == 6  # 60 training points, batches of 10
    assert len(path["x"]) == len(path["y"]) == len(path["loss"]) == len(path["steps"])
    assert path["x"][-1] == pytest.approx(0, abs=1e-5) and path["loss"][-1] < path["loss"][0]
    assert grid["a"][0] < min(path["x"]) and max(path["x"]) < grid["a"][-1]
    assert data["seconds"] > 0 and data["surface_seconds"] > 0 and data["samples"] == 40
    assert 0 < data["explained_variance"][0] <= 1


def test_random_plane_picture_and_table(capsys, small_xor, tmp_path):
    out_png = tmp_path / "random.png"
    code, out, err = cli(
        capsys,
        "surface",
        str(small_xor),
        "--method",
        "random",
        "--grid",
        "5",
        "--samples",
        "40",
        "--out",
        str(out_png),
    )
    assert code == 0, err
    assert out_png.stat().st_size > 1000 and out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "random" in out and "wrote" in out and "Loss surface: 100%" in err


def test_line_and_the_exact_two_weight_neuron(capsys, small_xor):
    code, out, _ = cli(capsys, "surface", str(small_xor), "--method", "line", "--grid", "7", "--json")
    data = json.loads(out)
    assert code == 0 and data["grid"]["b"] == [] and len(data["grid"]["loss"]) == 7
    code, out, err = cli(capsys, "surface", "--method", "exact", "--epochs", "1", "--grid", "4", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["n_params"] == 2 and data["labels"] == ["weight w1", "weight w2"]
    assert data["path"]["off_plane"] == [0.0] * len(data["path"]["steps"])


def test_saved_weights_beside_the_project(capsys, small_xor):
    code, _, err = cli(
        capsys, "train", str(small_xor), "--save-weights", str(small_xor.with_name("xor.weights.msgpack"))
    )
    assert code == 0, err
    code, out, err = cli(
        capsys, "surface", str(small_xor), "--saved-weights", "--method", "random", "--grid", "3", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["trained"]["steps"] == 6 and data["path"] is None


@pytest.mark.parametrize(
    "argv,expect",
    [
        (["surface"], "give a project file or --preset"),
        (["surface", "--preset", "no-such-preset"], "no preset called"),
        (["surface", "--preset", "xor-one-hidden", "--grid", "1"], "--grid must be from 2 to 501"),
        (["surface", "--preset", "xor-one-hidden", "--samples", "0"], "--samples must be at least 1"),
        (["surface", "--preset", "xor-one-hidden", "--steps", "0"], "--steps must be at least 1"),
        (
            ["surface", "--preset", "xor-one-hidden", "--epochs", "0"],
            "--epochs: epochs must be a whole number from 1",
        ),
        (["surface", "--preset", "xor-one-hidden", "--method", "exact"], "exactly 2 weights"),
        (["surface", "--preset", "xor-one-hidden", "--saved-weights"], "needs a project file"),
        (
            ["surface", "--preset", "xor-one-hidden", "--out", "/no/such/folder/s.png"],
            "is not a writable folder",
        ),
        (["surface", "--preset", "xor-one-hidden", "--out", "picture.jpg"], "must end in .png or .svg"),
    ],
)
def test_bad_input_exits_2(capsys, argv, expect):
    code, out, err = cli(capsys, *argv)
    assert code == 2
    assert expect in err and err.startswith("nnviz: ")


def test_bad_method_and_missing_weights_exit_2(capsys, small_xor):
    with pytest.raises(SystemExit) as info:  # argparse's own usage error
        main(["surface", str(small_xor), "--method", "sideways"])
    assert info.value.code == 2
    capsys.readouterr()
    code, _, err = cli(capsys, "surface", str(small_xor), "--saved-weights", "--method", "random")
    assert code == 2 and "no saved weights" in err
    code, _, err = cli(capsys, "surface", str(small_xor), "--saved-weights")
    assert code == 2 and "needs a training path" in err
    bad = small_xor.with_name("bad.json")
    bad.write_text("{")
    code, _, err = cli(capsys, "surface", str(bad))
    assert code == 2 and str(bad) in err
