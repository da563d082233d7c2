import os
from pathlib import Path

# Before Qt or JAX is imported anywhere: headless Qt, CPU JAX, deterministic tests.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["JAX_PLATFORMS"] = "cpu"
os.environ["NNVIZ_JIT_CACHE"] = "0"  # no compiled-code files left in the user's cache

import pytest

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture
def shared_datasets():
    """The official MNIST / Fashion-MNIST files when this checkout has them, else skip."""
    if not (SHARED_DATASETS / "mnist" / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("../shared/datasets is not present")
    return SHARED_DATASETS


@pytest.fixture(autouse=True)
def _no_leaked_windows(request):
    """Fail a Qt test that leaves top-level widgets open (napari's make_napari_viewer habit)."""
    if "qapp" not in request.fixturenames and "qtbot" not in request.fixturenames:
        yield
        return
    from PySide6.QtWidgets import QApplication

    before = set(QApplication.topLevelWidgets())
    yield
    leaked = [w for w in QApplication.topLevelWidgets() if w not in before and w.isVisible()]
    for w in leaked:
        w.close()
    assert not leaked, f"test left windows open: {leaked}"


@pytest.fixture(scope="session", autouse=True)
def _clear_clipboard_before_exit():
    """Empty the clipboard while Python still runs.

    Qt deletes clipboard data (a QMimeData made in Python by copy tests) in its own exit
    handlers, after the interpreter has finalised; shiboken then touches Python and the
    process segfaults after every test has passed.
    """
    yield
    import sys

    if "PySide6.QtWidgets" in sys.modules:
        from PySide6.QtWidgets import QApplication

        if QApplication.instance() is not None:
            QApplication.clipboard().clear()
