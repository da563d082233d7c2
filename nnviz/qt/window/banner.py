"""The dismissable strip above the canvas for failures that must not block the window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QStyle, QToolButton, QWidget


class MessageBanner(QFrame):
    """A dismissable strip above the canvas for failures that must not block the window."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 6, 6)
        self.icon = QLabel()
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        lay.addWidget(self.icon)
        lay.addWidget(self.text, 1)
        lay.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, text: str, kind: str = "error") -> None:
        colours = {
            "error": ("#fdecea", "#b71c1c", QStyle.StandardPixmap.SP_MessageBoxCritical),
            "warning": ("#fff4e5", "#8a4b00", QStyle.StandardPixmap.SP_MessageBoxWarning),
            "info": ("#e8f4fd", "#0d3c61", QStyle.StandardPixmap.SP_MessageBoxInformation),
        }
        bg, fg, icon = colours[kind]
        self.setStyleSheet(
            f"QFrame#banner {{ background: {bg}; border: 1px solid {fg}; border-radius: 4px; }}"
            f" QFrame#banner QLabel {{ color: {fg}; }}"
        )
        self.icon.setPixmap(self.style().standardIcon(icon).pixmap(20, 20))
        self.text.setText(text)
        self.show()
