"""The main window driven like a user would: menus, toolbar, files, training, closing."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from nnviz.core.presets import load_preset, preset_names
from nnviz.core.project import Project
from nnviz.qt.document import ProjectDocument

ROOT = Path(__file__).resolve().parents[2]


def training_threads():
    return [t for t in threading.enumerate() if t.name == "nnviz-training" and t.is_alive()]


@pytest.fixture
def xor_window(make_window):
    w = make_window(ProjectDocument(load_preset("xor-one-hidden")))
    w.show()
    return w


def test_menus_title_and_examples(qtbot, xor_window):
    w = xor_window
    assert w.windowTitle() == "XOR: why a hidden layer is needed[*] — nnviz" and not w.isWindowModified()
    presets = [a.text() for a in w.examples_menu.actions()]
    assert presets == preset_names()
    menus = [a.text() for a in w.menuBar().actions()]
    assert menus == ["&File", "&Edit", "&View", "&Train", "&Help"]
    assert w.action_train.shortcut().toString() == "F5" and w.action_step.shortcut().toString() == "F10"
    assert w.action_stop.shortcut().toString() == "Shift+F5"
    assert w.action_undo.shortcut().toString() == "Ctrl+Z"
    assert w.action_save_as.shortcut().toString() == "Ctrl+Shift+S"
    w.examples_menu.actions()[preset_names().index("spiral-playground")].trigger()
    assert w.document.project.dataset.name == "spiral" and w.inspector.document is w.document
    assert w.settings_panel.document is w.document and w.editor.document is w.document


def test_inspector_edit_then_undo_redo_from_the_edit_menu(qtbot, xor_window):
    w = xor_window
    node = w.document.network.nodes_of_type("Dense")[0]
    w.editor.select_nodes([node.id])
    qtbot.waitUntil(lambda: w.inspector.node_ids == [node.id], timeout=1000)
    spin = w.inspector.editors["units"]
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), "9")
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)
    assert node.params["units"] == 9 and w.isWindowModified()
    assert w.action_undo.isEnabled() and "units" in w.action_undo.text()
    w.action_undo.trigger()
    assert node.params["units"] == 4 and spin.value() == 4 and not w.isWindowModified()
    w.action_redo.trigger()
    assert node.params["units"] == 9 and spin.value() == 9


def test_save_and_reopen_gives_an_identical_project(qtbot, xor_window, make_window, tmp_path):
    w = xor_window
    w.settings_panel.noise.setValue(0.3)
    node = w.document.network.nodes_of_type("Dense")[0]
    w.document.set_param(node.id, "units", 6)
    path = tmp_path / "mine.json"
    assert w.save_as(path)
    assert not w.isWindowModified() and w.windowTitle() == "mine.json[*] — nnviz"
    saved = w.document.project.to_dict()
    assert Project.load(path).to_dict() == saved
    assert w.recent_files() == [str(path.resolve())]
    other = make_window()
    assert other.recent_files() == [str(path.resolve())]  # recent files persist in QSettings
    other.recent_menu.actions()[0].trigger()
    assert other.document.path == path and other.document.project.to_dict() == saved


def test_invalid_network_disables_train_and_says_why(qtbot, make_window):
    w = make_window()  # File > New: an Input and an Output, not yet connected
    w.show()
    assert not w.action_train.isEnabled() and not w.action_step.isEnabled()
    reason = w.problem_text()
    assert reason and reason in w.action_train.toolTip() and "Cannot train yet" in w.action_train.toolTip()
    assert "problem" in w.problem_label.text()
    doc = w.document
    inp, out = doc.network.nodes_of_type("Input")[0], doc.network.nodes_of_type("Output")[0]
    doc.connect(inp.id, out.id)  # 2 toy inputs give the 2 class scores directly
    assert w.action_train.isEnabled() and "Ready" in w.problem_label.text()


def test_train_from_the_window_pause_step_stop(qtbot, xor_window):
    w = xor_window
    w.document.set_training(
        w.document.project.training.__class__(**{**w.document.project.training.to_dict(), "epochs": 100000})
    )
    qtbot.keyClick(w, Qt.Key.Key_F5)
    assert w.bridge.active and w.document.training_lock
    qtbot.waitUntil(lambda: "loss" in w.status_label.text(), timeout=30000)
    text = w.status_label.text()
    assert "Epoch" in text and "step" in text and "accuracy" in text and w.progress_bar.isVisible()
    # a structural edit is refused and the reason shows in the status bar
    w.document.add_node("Dense", (0, 0))
    assert "Stop training" in w.statusBar().currentMessage()
    w.action_pause.trigger()
    qtbot.waitUntil(lambda: w.bridge.state == "paused", timeout=5000)
    assert w.action_train.text() == "&Resume" and w.action_step.isEnabled()
    step = w.bridge.last_progress.step
    qtbot.keyClick(w, Qt.Key.Key_F10)
    qtbot.waitUntil(lambda: w.bridge.last_progress.step == step + 1, timeout=5000)
    w.action_stop.trigger()
    qtbot.waitUntil(lambda: not w.bridge.active, timeout=5000)
    assert "Stopped after" in w.status_label.text() and not w.document.training_lock
    assert not training_threads()
    w.action_reset.trigger()
    assert w.status_label.text() == "Ready" and not w.action_reset.isEnabled()


def test_close_during_training_stops_the_run(qtbot, make_window, monkeypatch):
    w = make_window(ProjectDocument(load_preset("xor-one-hidden").with_training(epochs=100000)))
    w.show()
    ended = []
    w.bridge.finished.connect(ended.append)
    w.train()
    qtbot.waitUntil(
        lambda: w.bridge.last_progress is not None and w.bridge.last_progress.step > 0, timeout=30000
    )
    asked = []  # a run that trained steps is unsaved work: closing asks first
    monkeypatch.setattr(
        QMessageBox, "warning", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Discard
    )
    assert w.close() and len(asked) == 1 and "trained run" in asked[0]
    assert [r.reason for r in ended] == ["stopped"] and ended[0].step >= w.bridge.last_progress.step
    assert not w.isVisible() and not w.bridge.active and not training_threads()


def test_close_gives_a_run_that_will_not_stop_two_seconds_then_ends_it(qtbot, make_window):
    """Closing never hangs on a run stuck where it cannot read a stop (a long compilation):
    the window waits for it at most 2 s, then kills its process and waits 2 s more."""
    from nnviz.engine.messages import Finished

    from .test_bridge import FakeSession

    class StuckSession(FakeSession):
        def __init__(self, project, **kwargs):
            super().__init__(project, **kwargs)
            self.waits = []

        def stop(self):
            self.commands.append("stop")  # and nothing happens

        def join(self, timeout=None):
            self.waits.append(timeout)
            return not self._alive

        def kill(self):
            self.commands.append("kill")
            self.events.append(Finished("stopped", 0, 0, 0.0))
            self._alive = False

    w = make_window(ProjectDocument(load_preset("xor-one-hidden")))
    w.show()
    sessions = []
    w.bridge._session_factory = lambda p, **kw: sessions.append(StuckSession(p, **kw)) or sessions[-1]
    w.train()
    assert w.close()
    s = sessions[0]
    assert s.commands[-2:] == ["stop", "kill"] and s.waits == [2.0, 2.0]
    assert not w.isVisible() and not w.bridge.active


def test_missing_data_fails_with_a_message_and_the_app_stays_usable(qtbot, xor_window):
    w = xor_window
    w.settings_panel.dataset.setCurrentIndex(w.settings_panel.dataset.findData("mnist"))
    w.settings_panel.dataset.activated.emit(w.settings_panel.dataset.currentIndex())
    doc = w.document
    # make the network fit 28x28 images: Input -> Flatten -> Dense(10) -> Output
    net = doc.network
    for n in list(net.nodes_of_type("Dense")):
        doc.remove_nodes([n.id])
    inp, out = net.nodes_of_type("Input")[0], net.nodes_of_type("Output")[0]
    flat = doc.add_node("Flatten", (100, 0))
    d = doc.add_node("Dense", (200, 0), {"units": 10, "activation": "softmax"})
    doc.connect(inp.id, flat.id), doc.connect(flat.id, d.id), doc.connect(d.id, out.id)
    assert w.action_train.isEnabled(), w.problem_text()
    before = doc.project.to_dict()
    with qtbot.waitSignal(w.bridge.failed, timeout=20000):
        w.action_train.trigger()
    assert w.banner.isVisible() and "MNIST" in w.banner.text.text()
    assert w.status_label.text() == "Training failed"
    assert doc.project.to_dict() == before and not doc.training_lock
    assert doc.add_node("Dense", (0, 300)) is not None  # still editable


def test_divergence_is_reported_and_training_can_go_on(qtbot, xor_window):
    w = xor_window
    doc = w.document
    d1, d2 = doc.network.nodes_of_type("Dense")
    doc.set_param(d1.id, "activation", "relu")
    doc.set_param(d2.id, "activation", "linear")
    doc.set_param(doc.network.nodes_of_type("Output")[0].id, "loss", "mse")
    panel = w.settings_panel
    panel.optimizer.setCurrentIndex(panel.optimizer.findData("sgd"))
    panel.optimizer.activated.emit(panel.optimizer.currentIndex())
    panel.learning_rate.setValue(100.0)
    panel.epochs.setValue(50)
    before = doc.project.to_dict()
    with qtbot.waitSignal(w.bridge.failed, timeout=30000):
        w.train()
    assert "diverged" in w.banner.text.text() and w.banner.isVisible()
    assert "diverged" in w.statusBar().currentMessage() and doc.project.to_dict() == before
    # The weights from before the loss blew up are kept to go on from; wild as they are,
    # the message says to Reset, and a Reset run with a lower rate trains.
    assert w.bridge.run_state is not None and "Reset" in w.banner.text.text()
    panel.learning_rate.setValue(0.05)
    panel.max_steps.setValue(20)
    w.action_reset.trigger()
    with qtbot.waitSignal(w.bridge.finished, timeout=30000):
        w.train()
    assert not w.banner.isVisible() and "Finished after 20 steps" in w.status_label.text()


def test_unsaved_changes_prompt(qtbot, xor_window, monkeypatch, tmp_path):
    w = xor_window
    w.document.set_param(w.document.network.nodes_of_type("Dense")[0].id, "units", 5)
    asked = []

    def answer(button):
        def fake(*args, **kwargs):
            asked.append(args[1])
            return button

        monkeypatch.setattr(QMessageBox, "warning", fake)

    answer(QMessageBox.StandardButton.Cancel)
    assert not w.close() and w.isVisible() and len(asked) == 1
    assert not w.new_document() and w.document.modified
    answer(QMessageBox.StandardButton.Save)
    monkeypatch.setattr(w, "save_as", lambda path=None: w._save_to(tmp_path / "saved.json"))
    assert w.open_preset("circle-underfit") and (tmp_path / "saved.json").is_file()
    w.document.set_param(w.document.network.nodes_of_type("Output")[0].id, "loss", "mse")
    answer(QMessageBox.StandardButton.Discard)
    assert w.close() and not w.isVisible()


def test_autosave_and_recovery_after_a_crash(qtbot, make_window, settings, tmp_path, monkeypatch):
    w = make_window(ProjectDocument(load_preset("xor-one-hidden")))
    w.begin_session()
    assert not w.autosave_now()  # nothing to keep while unmodified
    w.document.set_param(w.document.network.nodes_of_type("Dense")[0].id, "units", 7)
    assert w.autosave_now() and w.autosave_path.is_file()
    saved = w.document.project.to_dict()
    # the process "crashes": the window is never closed, so clean_exit stays false
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    w2 = make_window()
    assert w2.begin_session()
    assert w2.document.project.to_dict() == saved and w2.document.modified and w2.banner.isVisibleTo(w2)
    w2.document.undo_stack.setClean()
    assert w2.close() and not w2.autosave_path.exists()
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(1))
    w3 = make_window()
    assert not w3.begin_session() and not asked  # a clean exit: nothing offered


def test_window_geometry_and_docks_persist(qtbot, make_window):
    w = make_window()
    w.show()
    w.resize(700, 500)  # the offscreen screen is 800x600
    w.settings_dock.hide()
    w.document.undo_stack.setClean()
    w.close()
    w2 = make_window()
    w2.show()
    assert w2.size().width() == 700 and not w2.settings_dock.isVisible()


def test_layer_reference_lists_every_type(qtbot, xor_window):
    from nnviz.core.layers import LAYER_TYPES

    w = xor_window
    w.action_reference.trigger()
    text = w._reference.browser.toPlainText()
    for t in LAYER_TYPES.values():
        assert t.name in text and t.formula.split("\n")[0][:20] in text
    w._reference.close()


def test_python_m_nnviz_opens_a_preset_without_jax():
    """The real entry point in a fresh process: the window appears and no JAX was imported.

    How fast it appears is benchmarks/startup.py's to measure (target: 2 s)."""
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        NNVIZ_STARTUP_PROBE="1",
        XDG_CONFIG_HOME=str(Path("/tmp") / "nnviz-test-config"),
    )
    code = (
        "import sys, nnviz.__main__ as m; rc = m.main(['--preset', 'xor-one-hidden']);"
        "print('jax' in sys.modules, 'pyqtgraph' in sys.modules); sys.exit(rc)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert r.returncode == 0, r.stderr
    assert "nnviz-startup-probe" in r.stdout and "False False" in r.stdout
    r = subprocess.run(
        [sys.executable, "-m", "nnviz", "--bogus"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert r.returncode == 2 and "usage" in r.stderr


def test_download_progress_can_be_cancelled_and_the_learning_rate_follows_live(qtbot, xor_window):
    from nnviz.engine.messages import Loading

    from .test_bridge import FakeSession

    w = xor_window
    sessions = []
    w.bridge._session_factory = lambda p, **kw: sessions.append(FakeSession(p, **kw)) or sessions[-1]
    w.action_train.trigger()
    s = sessions[0]
    assert s.kwargs["options"].download is False and s.project is not w.document.project  # a snapshot
    s.events.append(Loading("Downloading train-images-idx3-ubyte.gz", 2_000_000, 9_900_000))
    qtbot.waitUntil(lambda: w.cancel_button.isVisible(), timeout=2000)
    assert "Downloading" in w.status_label.text() and w.progress_bar.format() == "2.0 / 9.9 MB"
    w.settings_panel.learning_rate.setValue(0.5)
    assert ("lr", 0.5) in s.commands and "live" in w.statusBar().currentMessage()
    qtbot.mouseClick(w.cancel_button, Qt.MouseButton.LeftButton)
    assert "stop" in s.commands
    qtbot.waitUntil(lambda: not w.bridge.active, timeout=2000)
    assert not w.cancel_button.isVisible() and not w.document.training_lock
