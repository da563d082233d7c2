import os
from pathlib import Path

# Before Qt or JAX is imported anywhere: headless Qt, CPU JAX, deterministic tests.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["JAX_PLATFORMS"] = "cpu"

import pytest

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture
def shared_datasets():
    """The official MNIST / Fashion-MNIST files when this checkout has them, else skip."""
    if not (SHARED_DATASETS / "mnist" / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("../shared/datasets is not present")
    return SHARED_DATASETS
