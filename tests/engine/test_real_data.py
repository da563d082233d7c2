"""Short training runs on the official MNIST / Fashion-MNIST files (skipped where absent)."""

from nnviz.core.presets import load_preset
from nnviz.engine.messages import Finished
from nnviz.engine.options import SessionOptions
from nnviz.engine.session import TrainingSession


def test_mnist_mlp_sgd_learns_in_300_steps(real_data_dir):
    project = load_preset("mnist-mlp-sgd").with_training(max_steps=300)
    session = TrainingSession(
        project, SessionOptions(data_dir=str(real_data_dir), download=False, snapshot_interval=float("inf"))
    )
    result = session.run()
    assert isinstance(result, Finished), result
    assert result.metrics["steps"] == 300
    assert result.metrics["test_accuracy"] > 0.90


def test_fashion_cnn_learns_in_100_steps(real_data_dir):
    project = load_preset("fashion-cnn").with_training(max_steps=100)
    session = TrainingSession(
        project, SessionOptions(data_dir=str(real_data_dir), download=False, snapshot_interval=float("inf"))
    )
    result = session.run()
    assert isinstance(result, Finished), result
    assert result.metrics["test_accuracy"] > 0.65
