"""The headless CLI: summary, train --json, and exit status 2 without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nnviz.cli import main
from nnviz.core.presets import load_preset

ROOT = Path(__file__).resolve().parents[1]


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_summary_of_784_15_10_counts_11935(capsys):
    code, out, err = cli(capsys, "summary", "--preset", "digits-784-15-10")
    assert code == 0, err
    assert "11,935" in out
    assert "Total params: 11,935" in out
    for word in ("Node", "Type", "Output shape", "Params", "Flatten", "784", "11,775", "160"):
        assert word in out, word


def test_summary_of_project_file_and_cnn(capsys, tmp_path):
    path = load_preset("mnist-cnn").save(tmp_path / "cnn.json")
    code, out, _ = cli(capsys, "summary", str(path))
    assert code == 0
    assert "Conv2D" in out and "MaxPool2D" in out and "28×28×1" in out


def test_train_takes_any_optimizer_of_the_table(capsys):
    code, out, err = cli(
        capsys, "train", "--preset", "xor-one-hidden", "--epochs", "2", "--optimizer", "adamw",
        "--learning-rate", "0.03", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["epochs"] == 2
    with pytest.raises(SystemExit) as exit_:
        cli(capsys, "train", "--preset", "xor-one-hidden", "--optimizer", "lion")
    assert exit_.value.code == 2 and "adamw" in capsys.readouterr().err  # argparse lists the table's names


def test_presets_lists_every_preset(capsys):
    code, out, _ = cli(capsys, "presets")
    assert code == 0
    for name in ("digits-784-15-10", "fashion-mlp-sigmoid", "xor-one-hidden", "spiral-playground"):
        assert name in out


def test_train_json_prints_one_object(capsys):
    code, out, err = cli(capsys, "train", "--preset", "xor-one-hidden", "--epochs", "3", "--json")
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1
    data = json.loads(lines[0])
    for key in ("test_accuracy", "test_loss", "train_accuracy", "params", "epochs", "seconds"):
        assert key in data, key
    assert data["epochs"] == 3 and data["params"] == 22
    assert 0 <= data["test_accuracy"] <= 1 and data["test_loss"] > 0 and data["seconds"] > 0
    assert data["stopped"] is False and len(data["history"]) == 3
    assert data["val_loss"] is None  # NaN is not JSON: no validation split gives null


def test_train_table_and_saved_weights(capsys, tmp_path):
    from nnviz.engine.weights import load_weights

    project = load_preset("xor-one-hidden").with_training(epochs=1)
    path = project.save(tmp_path / "xor.json")
    weights = tmp_path / "xor.weights.msgpack"
    code, out, err = cli(capsys, "train", str(path), "--seed", "3", "--save-weights", str(weights))
    assert code == 0, err
    assert "test" in out and "accuracy" in out and "22 parameters" in out
    assert "Epoch 1/1" in err  # the per-epoch progress line goes to stderr
    params, types, step = load_weights(weights)
    assert set(types.values()) == {"Dense"} and step == 25


@pytest.mark.parametrize(
    "argv,expect",
    [
        (["train", "--preset", "no-such-preset"], "no preset called 'no-such-preset'"),
        (["summary", "--preset", "no-such-preset"], "known presets"),
        (["train"], "give a project file or --preset"),
        (["train", "a.json", "--preset", "xor-one-hidden"], "not both"),
        (
            ["train", "--preset", "xor-one-hidden", "--epochs", "0"],
            "--epochs: epochs must be a whole number from 1",
        ),
        (["train", "--preset", "xor-one-hidden", "--seed", "-1"], "seed"),
        (
            ["train", "--preset", "xor-one-hidden", "--learning-rate", "0"],
            "--learning-rate: learning rate must",
        ),
        (
            ["train", "--preset", "xor-one-hidden", "--save-weights", "/no/such/folder/w.msgpack"],
            "is not a writable folder",
        ),
    ],
)
def test_usage_errors_exit_2(capsys, argv, expect):
    code, out, err = cli(capsys, *argv)
    assert code == 2
    assert expect in err and err.startswith("nnviz: ")


@pytest.mark.parametrize(
    "content,expect",
    [
        (b"", "is empty"),
        (b'{"format": "nnviz-project", "format_version": 1, "network": {', "truncated"),
        (b'{"hello": "world"}', "not an nnviz project"),
        (b"\x00\xff\x00binary", "not a text file"),
    ],
)
@pytest.mark.parametrize("command", ["train", "summary"])
def test_invalid_project_file_exits_2(capsys, tmp_path, command, content, expect):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    code, out, err = cli(capsys, command, str(path))
    assert code == 2
    assert str(path) in err and expect in err
    assert path.read_bytes() == content


def test_missing_project_file_exits_2(capsys, tmp_path):
    code, _, err = cli(capsys, "train", str(tmp_path / "nope.json"))
    assert code == 2 and "no such file" in err


def test_invalid_network_exits_2_naming_nodes(capsys, tmp_path):
    project = load_preset("xor-one-hidden")
    out_node = project.network.nodes_of_type("Dense")[-1]
    out_node.params["units"] = 3  # 3 outputs for 2 classes
    project.network.add_node("Dense", name="loose_end")  # and a node connected to nothing
    path = project.save(tmp_path / "bad-net.json")
    code, _, err = cli(capsys, "train", str(path))
    assert code == 2 and "output_1 (Output)" in err and "loose_end (Dense)" in err
    code, out, err = cli(capsys, "summary", str(path))
    assert code == 2 and "Total params" in out and "output_1 (Output)" in err


def test_missing_data_without_download_exits_2(capsys, tmp_path):
    empty = tmp_path / "data"
    empty.mkdir()
    code, out, err = cli(
        capsys, "train", "--preset", "digits-784-15-10", "--data-dir", str(empty), "--no-download", "--json"
    )
    assert code == 2
    assert "MNIST" in err and str(empty) in err and "Downloading is turned off" in err
    assert out == ""


def _subprocess(*args, **kw):
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    return subprocess.run(
        [sys.executable, "-m", "nnviz", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kw,
    )


def test_entry_point_in_a_real_process(tmp_path):
    ok = _subprocess("summary", "--preset", "digits-784-15-10")
    assert ok.returncode == 0, ok.stderr
    assert "11,935" in ok.stdout
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "nnviz-project", "format_version": 99}')
    fail = _subprocess("train", str(bad), "--no-download")
    assert fail.returncode == 2
    assert "newer nnviz" in fail.stderr and str(bad) in fail.stderr
    assert "Traceback" not in fail.stderr + fail.stdout
    # `nnviz surface` is a sub-command too, not a window: bad input says so and exits 2
    surf = _subprocess("surface", "--preset", "no-such-preset")
    assert surf.returncode == 2 and "no preset called" in surf.stderr and "Traceback" not in surf.stderr


def test_progress_bar_counts_steps_when_a_step_limit_ends_the_run():
    import io

    from nnviz.cli import _ProgressBar
    from nnviz.engine.messages import Progress

    p = Progress(
        step=120,
        epoch=1,
        epoch_fraction=0.2,
        total_steps=1000,
        train_loss=0.5,
        train_accuracy=0.8,
        learning_rate=0.1,
        samples_per_second=1000.0,
    )
    by_steps = _ProgressBar(
        io.StringIO(), load_preset("mnist-mlp-sgd").training
    )  # 1000 steps, no epoch count
    assert by_steps._epoch(1, p) == "Epoch 1 · step 120/1,000"
    by_epochs = _ProgressBar(io.StringIO(), load_preset("fashion-mlp-sigmoid").training)
    assert by_epochs._epoch(2, p) == f"Epoch 2/{load_preset('fashion-mlp-sigmoid').training.epochs}"


def test_every_sub_command_is_in_both_helps_and_goes_to_the_cli(capsys, monkeypatch):
    """`nnviz --help` and the window's own --help (`nnviz PROJECT --help`) name every sub-command."""
    import argparse

    import nnviz.__main__ as entry
    import nnviz.cli
    from nnviz.qt.app import parse_args
    from nnviz.subcommands import SUBCOMMANDS

    parser = nnviz.cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices) == list(SUBCOMMANDS)
    for argv, show in ((["--help"], entry.main), (["x.json", "--help"], parse_args)):
        with pytest.raises(SystemExit) as exit_:
            show(argv)
        out = capsys.readouterr().out
        assert exit_.value.code == 0
        for name in SUBCOMMANDS:
            assert name in out, (argv, name)
    routed = []
    monkeypatch.setattr(nnviz.cli, "main", lambda argv: routed.append(argv[0]) or 0)
    for name in SUBCOMMANDS:
        assert entry.main([name]) == 0
    assert routed == list(SUBCOMMANDS)


# ---------------------------------------------------------------- internal errors


@pytest.fixture
def log_dir(tmp_path, monkeypatch):
    folder = tmp_path / "logs"
    monkeypatch.setenv("NNVIZ_LOG_DIR", str(folder))
    return folder


def test_an_internal_error_prints_one_line_and_logs_the_traceback(capsys, monkeypatch, log_dir):
    import nnviz.cli

    def broken(args):
        raise KeyError("layers")  # as the loss once did for a weightless network with L2

    monkeypatch.setattr(nnviz.cli, "cmd_summary", broken)
    code, out, err = cli(capsys, "summary", "--preset", "xor-one-hidden")
    log = log_dir / "nnviz.log"
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("nnviz: summary failed with an internal error")
    assert "KeyError" in err and f"details in {log}" in err
    text = log.read_text()
    assert "Traceback" in text and "KeyError: 'layers'" in text and "in broken" in text


def test_an_error_inside_training_exits_1_with_the_log_and_no_traceback(capsys, monkeypatch, log_dir):
    from nnviz.engine.session import TrainingSession

    def broken(self):
        raise RuntimeError("XLA said no")

    monkeypatch.setattr(TrainingSession, "_run", broken)
    code, out, err = cli(capsys, "train", "--preset", "xor-one-hidden", "--json")
    log = log_dir / "nnviz.log"
    assert code == 1 and out == ""
    assert "internal error" in err and "XLA said no" in err and f"details in {log}" in err
    assert err.count("\n") == 1  # the session's logged traceback went to the file, not here
    assert "Traceback" in log.read_text() and "RuntimeError: XLA said no" in log.read_text()


def test_bad_input_is_still_status_2_after_an_internal_error(capsys, monkeypatch, log_dir, tmp_path):
    import nnviz.cli

    monkeypatch.setattr(nnviz.cli, "cmd_presets", lambda args: 1 / 0)
    assert cli(capsys, "presets")[0] == 1
    code, _, err = cli(capsys, "train", str(tmp_path / "nope.json"))
    assert code == 2 and "no such file" in err and "details in" not in err


def test_an_internal_error_in_a_real_process_shows_no_traceback(tmp_path):
    code = (
        "import sys, nnviz.cli as c\n"
        "def broken(args): raise ZeroDivisionError('deep inside')\n"
        "c.cmd_presets = broken\n"
        "sys.exit(c.main(['presets']))\n"
    )
    env = {**os.environ, "NNVIZ_LOG_DIR": str(tmp_path / "logs"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.count("\n") == 1 and "ZeroDivisionError" in proc.stderr
    assert "ZeroDivisionError: deep inside" in (tmp_path / "logs" / "nnviz.log").read_text()


def test_the_log_file_keeps_its_newest_half_when_it_grows_large(log_dir):
    from nnviz import logs

    log_dir.mkdir()
    log = log_dir / "nnviz.log"
    lines = [f"line {i:07d} of an old run\n" for i in range(2 * logs.MAX_BYTES // 24)]
    log.write_text("".join(lines))
    assert logs.configure_logging() == log and logs.log_path() == log
    text = log.read_text()
    assert logs.MAX_BYTES // 4 < len(text) <= logs.MAX_BYTES // 2
    assert text.endswith(lines[-1]) and text.startswith("line ")  # cut at a line's start


def test_an_override_hundreds_of_digits_long_is_shortened_in_the_message(capsys):
    code, _, err = cli(capsys, "train", "--preset", "xor-one-hidden", "--seed", "1" + "0" * 400)
    assert code == 2 and "seed must be a whole number" in err and "(401 digits)" in err
    assert len(err) < 300  # not the number in full
