"""Every bad weights file of the corpus is refused with a message naming the file: when read,
when fitted to the network, and by `nnviz surface --saved-weights` (exit 2, no traceback,
the file unchanged)."""

from __future__ import annotations

import pytest

from nnviz.cli import main
from nnviz.core.presets import load_preset
from nnviz.core.project import WEIGHTS_SUFFIX
from nnviz.engine.options import SessionOptions
from nnviz.engine.session import TrainingSession
from nnviz.engine.weights import WeightsError, check_fits, load_run_state, load_weights, save_run_state

from .bad_inputs.weights import bad_weights_files


def xor_project():
    project = load_preset("xor-one-hidden").with_training(epochs=1, batch_size=10, max_steps=3)
    project.dataset = type(project.dataset)(**{**project.dataset.to_dict(), "n_samples": 120})
    return project


@pytest.fixture(scope="module")
def trained():
    project = xor_project()
    session = TrainingSession(project, SessionOptions(max_chunk=1))
    session.run()
    return project, session


@pytest.fixture(scope="module")
def corpus(trained):
    return bad_weights_files(trained[1].run_state)


def expected_shapes(session):
    return {nid: {k: v.shape for k, v in p.items()} for nid, p in session.final_params.items()}


def test_the_corpus_is_large_and_its_source_is_good(trained, corpus, tmp_path):
    project, session = trained
    assert len(corpus) >= 20
    assert sum(not bad.on_load for bad in corpus.values()) >= 6
    good = save_run_state(tmp_path / "good.weights.msgpack", session.run_state)
    state = load_run_state(good)
    check_fits(state.params, state.node_types, expected_shapes(session), project.network, str(good))
    assert state.step == 3


def test_each_bad_file_is_refused_naming_the_file(trained, corpus, tmp_path):
    project, session = trained
    for name, bad in corpus.items():
        path = tmp_path / f"{name}{WEIGHTS_SUFFIX}"
        path.write_bytes(bad.data)
        with pytest.raises(WeightsError) as info:
            if bad.on_load:
                load_run_state(path)
            else:
                params, types, _ = load_weights(path)
                check_fits(params, types, expected_shapes(session), project.network, str(path))
        message = str(info.value)
        assert str(path) in message, name
        assert bad.expect in message.lower(), f"{name}: {message}"
        if bad.on_load:
            with pytest.raises(WeightsError):
                load_weights(path)
        else:  # names the node that does not fit: the network's, or the one saved for another
            nodes = [n.name for n in project.network.nodes.values()] + [
                t for t in types if t not in project.network.nodes
            ]
            assert any(node in message for node in nodes), f"{name}: {message}"
        assert path.read_bytes() == bad.data


def test_the_cli_refuses_each_bad_file_with_exit_2(trained, corpus, tmp_path, capsys):
    project, _ = trained
    project_path = project.save(tmp_path / "xor.json")
    weights = tmp_path / f"xor{WEIGHTS_SUFFIX}"
    for name, bad in corpus.items():
        weights.write_bytes(bad.data)
        code = main(
            ["surface", str(project_path), "--saved-weights", "--method", "random", "--grid", "3", "--json"]
        )
        out, err = capsys.readouterr()
        assert code == 2, f"{name}: {out}{err}"
        assert "Traceback" not in out + err
        assert str(weights) in err and bad.expect in err.lower(), f"{name}: {err}"
        assert weights.read_bytes() == bad.data, name
