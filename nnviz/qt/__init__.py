"""PySide6 + pyqtgraph: the desktop application."""
