"""The window's actions (and their shortcuts), its menus and its toolbars.

Each action calls a method of the window (``MainWindow.train``, ``open_file``, ...); the
window keeps them as ``action_*`` attributes, and its menus as ``*_menu``.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QStyle, QToolBar

from ...core.presets import preset_names

if TYPE_CHECKING:
    from ..main_window import MainWindow

# Training speeds a user can pick while watching: steps per frame (a frame is 1/30 s).
SPEEDS = (
    ("Full speed", None),
    ("100 steps a frame", 100),
    ("10 steps a frame", 10),
    ("1 step a frame (slow motion)", 1),
)


def action(w: MainWindow, text: str, slot, shortcut=None, tip: str = "", icon=None) -> QAction:
    """A QAction of the window's: its shortcut, tips and standard icon; triggering calls ``slot()``."""
    a = QAction(text, w)
    if shortcut is not None:
        a.setShortcut(QKeySequence(shortcut))
    if tip:
        a.setStatusTip(tip)
        a.setToolTip(tip)
    if icon is not None:
        a.setIcon(w.style().standardIcon(icon))
    a.triggered.connect(lambda _checked=False: slot())
    return a


def build_actions(w: MainWindow) -> None:
    """The window's actions (``w.action_*``), with their shortcuts and tips."""
    SK, SP = QKeySequence.StandardKey, QStyle.StandardPixmap
    A = partial(action, w)
    w.action_new = A("&New", w.new_document, SK.New, "Start a new network", SP.SP_FileIcon)
    w.action_open = A("&Open…", w.open_file, SK.Open, "Open a project file", SP.SP_DialogOpenButton)
    w.action_save = A("&Save", w.save, SK.Save, "Save the project", SP.SP_DialogSaveButton)
    w.action_save_as = A("Save &As…", w.save_as, SK.SaveAs, "Save the project under a new name")
    w.action_import_weights = A(
        "&Import Weights…",
        w.import_weights,
        tip="Go on training from weights saved for this network (a .weights.msgpack file)",
    )
    w.action_export_weights = A(
        "&Export Weights…", w.export_weights, tip="Save the trained weights and optimizer state to a file"
    )
    w.action_quit = A("&Quit", w.close, SK.Quit, "Quit nnviz")
    w.action_undo = w.undo_group.createUndoAction(w, "&Undo")
    w.action_undo.setShortcut(QKeySequence(SK.Undo))
    w.action_undo.setIcon(w.style().standardIcon(SP.SP_ArrowBack))
    w.action_redo = w.undo_group.createRedoAction(w, "&Redo")
    w.action_redo.setShortcuts([QKeySequence(SK.Redo), QKeySequence("Ctrl+Y")])
    w.action_redo.setIcon(w.style().standardIcon(SP.SP_ArrowForward))
    w.action_cut = A("Cu&t", lambda: w.editor.cut(), SK.Cut, "Cut the selected nodes")
    w.action_copy = A("&Copy", lambda: w.editor.copy(), SK.Copy, "Copy the selected nodes")
    w.action_paste = A("&Paste", lambda: w.editor.paste(), SK.Paste, "Paste nodes")
    w.action_delete = A(
        "&Delete",
        lambda: w.editor.delete_selected(),
        SK.Delete,
        "Delete the selected nodes and their connections",
    )
    w.action_select_all = A("Select &All", lambda: w.editor.select_all(), SK.SelectAll)
    w.action_arrange = A(
        "A&rrange", lambda: w.editor.arrange(), "Ctrl+L", "Lay the network out from left to right"
    )
    w.action_zoom_in = A("Zoom &In", lambda: w.editor.zoom_in(), SK.ZoomIn)
    w.action_zoom_out = A("Zoom &Out", lambda: w.editor.zoom_out(), SK.ZoomOut)
    w.action_fit = A("&Fit to Window", lambda: w.editor.fit_to_view(), "Ctrl+0", "Show the whole network")
    w.action_train = A("&Train", w.train, "F5", "Train the network", SP.SP_MediaPlay)
    w.action_train_more = A(
        "Train N &More Epochs…",
        w.train_more,
        "Ctrl+F5",
        "Go on training the kept run for as many more epochs as you say",
    )
    w.action_pause = A("&Pause", w.pause, "F6", "Pause training", SP.SP_MediaPause)
    w.action_step = A("&Step", w.step, "F10", "Train one mini-batch, then pause", SP.SP_MediaSkipForward)
    w.action_stop = A(
        "St&op",
        w.stop,
        "Shift+F5",
        "Stop training (the weights so far are kept: Train goes on from them)",
        SP.SP_MediaStop,
    )
    w.action_reset = A(
        "&Reset",
        w.reset,
        "Ctrl+Shift+R",
        "Reset: forget the trained weights; the next Train starts from new random weights",
        SP.SP_BrowserReload,
    )
    w.action_back = A(
        "Timeline &Back",
        lambda: w.visuals.step_back(),
        "Alt+Left",
        "Show an earlier snapshot of training in every panel",
    )
    w.action_forward = A(
        "Timeline &Forward",
        lambda: w.visuals.step_forward(),
        "Alt+Right",
        "Show a later snapshot of training in every panel",
    )
    w.action_live = A(
        "Follow &Live", lambda: w.visuals.follow_live(), "Alt+End", "Show training as it happens again"
    )
    w.action_reference = A(
        "&Layer Reference", w.show_layer_reference, SK.HelpContents, "What every layer type computes"
    )
    w.action_about = A("&About nnviz", w.show_about)


def build_menus(w: MainWindow) -> None:
    """File, Edit, View, Train and Help (``w.*_menu``)."""
    mb = w.menuBar()
    m = mb.addMenu("&File")
    m.addActions([w.action_new, w.action_open])
    w.recent_menu = m.addMenu("Open &Recent")
    w.recent_menu.aboutToShow.connect(w.rebuild_recent_menu)
    w.examples_menu = m.addMenu("&Examples")
    for name in preset_names():
        a = w.examples_menu.addAction(name)
        a.setObjectName(f"preset:{name}")
        a.triggered.connect(lambda _c=False, n=name: w.open_preset(n))
    m.addSeparator()
    m.addActions([w.action_save, w.action_save_as])
    m.addSeparator()
    m.addActions([w.action_import_weights, w.action_export_weights])
    m.addSeparator()
    m.addAction(w.action_quit)
    w.file_menu = m
    w.rebuild_recent_menu()

    m = mb.addMenu("&Edit")
    m.addActions([w.action_undo, w.action_redo])
    m.addSeparator()
    m.addActions([w.action_cut, w.action_copy, w.action_paste, w.action_delete])
    m.addSeparator()
    m.addActions([w.action_select_all, w.action_arrange])
    w.edit_menu = m

    m = mb.addMenu("&View")
    m.addActions([w.action_zoom_in, w.action_zoom_out, w.action_fit])
    m.addSeparator()
    for dock in (w.palette_dock, w.inspector_dock, w.settings_dock):
        m.addAction(dock.toggleViewAction())
    w.visuals_menu = m.addMenu("Training &panels")
    w.visuals_menu.addAction("(loading…)").setEnabled(False)
    w.view_menu = m

    m = mb.addMenu("&Train")
    m.addActions([w.action_train, w.action_train_more, w.action_pause, w.action_step, w.action_stop])
    w.speed_menu = m.addMenu("Spee&d")
    w.speed_group = QActionGroup(w)
    w.speed_actions = []
    for i, (text, value) in enumerate(SPEEDS):
        a = w.speed_menu.addAction(text)
        a.setCheckable(True)
        a.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
        a.setStatusTip(
            "Train as fast as the machine can"
            if value is None
            else f"At most {value} training step{'s' if value != 1 else ''} between two pictures, "
            "to watch learning happen"
        )
        a.triggered.connect(lambda _checked=False, v=value: w.set_speed(v))
        w.speed_group.addAction(a)
        w.speed_actions.append(a)
    m.addSeparator()
    m.addActions([w.action_back, w.action_forward, w.action_live])
    m.addSeparator()
    m.addAction(w.action_reset)
    w.train_menu = m

    m = mb.addMenu("&Help")
    m.addActions([w.action_reference, w.action_about])
    w.help_menu = m


def build_toolbar(w: MainWindow) -> None:
    """The main toolbar with the speed box, and the timeline along the bottom."""
    tb = w.addToolBar("Main")
    tb.setObjectName("MainToolBar")
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    tb.setMovable(False)
    tb.addActions([w.action_new, w.action_open, w.action_save])
    tb.addSeparator()
    tb.addActions([w.action_undo, w.action_redo])
    tb.addSeparator()
    tb.addActions([w.action_train, w.action_pause, w.action_step, w.action_stop, w.action_reset])
    w.speed_box = QComboBox()
    w.speed_box.setObjectName("speedBox")
    w.speed_box.setToolTip(
        "Training speed: full speed, or a few steps between pictures to watch it learn (changes live)"
    )
    for text, value in SPEEDS:
        w.speed_box.addItem(text, value)
    w.speed_box.activated.connect(lambda i: w.set_speed(SPEEDS[i][1]))
    tb.addWidget(w.speed_box)
    tb.addSeparator()
    tb.addActions([w.action_arrange, w.action_fit])
    w.toolbar = tb
    # The timeline runs along the bottom, above the status bar, as wide as the window.
    tl = QToolBar("Timeline")
    tl.setObjectName("TimelineToolBar")
    tl.setMovable(False)
    tl.addWidget(w.visuals.timeline)
    w.addToolBar(Qt.ToolBarArea.BottomToolBarArea, tl)
    w.timeline_toolbar = tl
    w.view_menu.addAction(tl.toggleViewAction())
    w.view_menu.addAction(tb.toggleViewAction())
    train_button = tb.widgetForAction(w.action_train)
    if train_button is not None:
        train_button.setObjectName("trainButton")
        f = train_button.font()
        f.setBold(True)
        train_button.setFont(f)
