"""The parts the main window (``nnviz.qt.main_window.MainWindow``) is made of.

``menus``: its actions (with their shortcuts), menus and toolbar; ``files``: project
files: recent files, the last folder, autosave and recovery; ``status``: the status
bar's training status, progress and network check; ``banner``: the dismissable message
strip above the canvas; ``layer_reference``: Help > Layer Reference.
"""
