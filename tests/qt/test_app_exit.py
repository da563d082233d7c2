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


TRAIN_SCRIPT = textwrap.dedent("""
    import os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    import nnviz.qt.app as app
    from nnviz.engine.process import shared_engine

    seen = {}

    def window():
        return next(w for w in QApplication.topLevelWidgets() if w.isVisible() and hasattr(w, "editor"))

    def train():
        window().train()
        QTimer.singleShot(100, watch)

    def watch():
        b = window().bridge
        if b.active:
            seen["session"] = type(b.session).__name__
            seen["pid"] = shared_engine().pid
            QTimer.singleShot(50, watch)
            return
        print("RESULT", seen.get("session"), seen.get("pid"), os.getpid(), getattr(b.result, "reason", b.result),
              flush=True)
        window().document.undo_stack.setClean()
        QApplication.quit()

    app.make_application("nnviz", [])
    QTimer.singleShot(500, train)
    sys.exit(app.main(["--preset", "xor-one-hidden"]))
""")


def test_the_app_trains_in_its_engine_process_and_leaves_none_behind(tmp_path):
    env_home = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
                "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env = {**os.environ, **env_home}
    env.pop("NNVIZ_TRAINING_PROCESS", None)
    result = subprocess.run([sys.executable, "-c", TRAIN_SCRIPT], capture_output=True, text=True, timeout=120,
                            env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    line = next(s for s in result.stdout.splitlines() if s.startswith("RESULT"))
    _, kind, pid, app_pid, reason = line.split()
    assert kind == "ProcessSession" and reason == "completed", line
    assert int(pid) != int(app_pid)  # trained outside the window's process
    try:  # the engine ended with the app (a zombie is gone once its parent is)
        os.kill(int(pid), 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive, f"the engine process {pid} outlived the app"
