import os
import tempfile

# Before Qt or JAX is imported anywhere: headless Qt, CPU JAX, deterministic tests.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["JAX_PLATFORMS"] = "cpu"
os.environ["NNVIZ_JIT_CACHE"] = "0"  # no compiled-code files left in the user's cache
os.environ.setdefault("NNVIZ_LOG_DIR", tempfile.mkdtemp(prefix="nnviz-test-logs-"))  # nor a log file

import pytest


@pytest.fixture
def real_data_dir():
    """A folder with the official MNIST and Fashion-MNIST files, else skip.

    $NNVIZ_DATA_DIR, then ../shared/datasets beside the checkout, then the app's cache
    (nnviz.core.datasets.find_data_dir, which the benchmarks and packaging scripts use too).
    """
    from nnviz.core.datasets import data_dir_candidates, find_data_dir

    folder = find_data_dir("mnist", "fashion-mnist")
    if folder is None:
        pytest.skip("no MNIST / Fashion-MNIST files in " + ", ".join(map(str, data_dir_candidates())))
    return folder


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
