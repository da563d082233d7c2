"""The real app exits cleanly (status 0) after copying nodes to the clipboard."""

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    import nnviz.qt.app as app

    def copy_then_quit():
        window = next(w for w in QApplication.topLevelWidgets() if w.isVisible() and hasattr(w, "editor"))
        window.editor.select_all()
        window.editor.copy()
        assert QApplication.clipboard().mimeData().formats()
        QTimer.singleShot(50, QApplication.quit)

    app.make_application("nnviz", [])
    QTimer.singleShot(500, copy_then_quit)
    sys.exit(app.main(["--preset", "xor-one-hidden"]))
""")


def test_exit_after_copy_is_clean(tmp_path):
    env_home = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
                "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60,
                            env={**os.environ, **env_home})
    assert result.returncode == 0, result.stderr[-2000:]


def test_application_has_the_nnviz_icon(qapp):
    from nnviz.qt.app import make_application

    app = make_application()
    assert not app.windowIcon().isNull()
    assert not app.windowIcon().pixmap(64, 64).toImage().isNull()
