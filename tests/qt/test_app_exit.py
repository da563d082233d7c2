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


def run_app(script: str, home, timeout: float) -> subprocess.CompletedProcess:
    """``script`` in a fresh Python, with its settings and caches under ``home``; it must exit 0."""
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
    }
    env.pop("NNVIZ_TRAINING_PROCESS", None)  # the app as users get it
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout, env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_exit_after_copy_is_clean(tmp_path):
    run_app(SCRIPT, tmp_path, 60)


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
        b.forget_run()  # nothing unsaved: quitting asks nothing
        QApplication.quit()

    app.make_application("nnviz", [])
    QTimer.singleShot(500, train)
    sys.exit(app.main(["--preset", "xor-one-hidden"]))
""")


def test_the_app_trains_in_its_engine_process_and_leaves_none_behind(tmp_path):
    result = run_app(TRAIN_SCRIPT, tmp_path, 120)
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


OPEN_SCRIPT = textwrap.dedent("""
    import os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    import nnviz.qt.app as app

    def window():
        return next(w for w in QApplication.topLevelWidgets() if w.isVisible() and hasattr(w, "editor"))

    def watch():
        w = window()
        latest = w.visuals.latest
        if latest is None or w.bridge.active:
            QTimer.singleShot(50, watch)
            return
        state = w.bridge.run_state
        curves = w.visuals.panels["curves"].series["train_loss"].n
        print("RESULT", latest.step, state.step if state else None, w.bridge.unsaved_run, curves, flush=True)
        w.bridge.forget_run()
        QApplication.quit()

    app.make_application("nnviz", [])
    QTimer.singleShot(200, watch)
    sys.exit(app.main([sys.argv[1]]))
""")


def test_a_project_given_on_the_command_line_opens_with_its_trained_run(tmp_path):
    """``nnviz PROJECT.json`` shows the run saved beside it at once, as File > Open does
    (it once opened the project alone, untrained)."""
    from nnviz.core.presets import load_preset
    from nnviz.engine.options import SessionOptions
    from nnviz.engine.session import TrainingSession
    from nnviz.engine.weights import save_run_state
    from nnviz.qt.window.runs import weights_path_for

    project = load_preset("xor-one-hidden").with_training(epochs=2)
    path = tmp_path / "xor.json"
    project.save(path)
    session = TrainingSession(project, SessionOptions(download=False, snapshot_interval=1e9))
    session.run()
    save_run_state(weights_path_for(path), session.run_state)
    env_script = OPEN_SCRIPT.replace("sys.argv[1]", repr(str(path)))
    result = run_app(env_script, tmp_path, 120)
    line = next(s for s in result.stdout.splitlines() if s.startswith("RESULT"))
    _, shown, kept, unsaved, curves = line.split()
    assert int(shown) == int(kept) == session.run_state.step > 0, line
    assert unsaved == "False"  # it is the saved run
    assert int(curves) == len(session.run_state.history) == 2  # its curves, one point per epoch
