"""The timeline under the training panels: scrub back through a run, or follow it live.

A plain Qt widget (no pyqtgraph), so it can exist before the panels are built. It knows
only the steps and epochs of the snapshots in the history; the VisualsController owns
the history and decides what the panels show.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QToolButton, QWidget


class TimelineBar(QWidget):
    """A slider over the snapshots of the run, with step back/forward and a Live button."""

    scrubbed = Signal(int)  # the user picked the snapshot at this index of the history
    live_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timelineBar")
        self._steps: list[int] = []
        self._epochs: list[int] = []
        self._live = True
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 0, 6, 0)
        lay.setSpacing(4)
        title = QLabel("Timeline")
        title.setToolTip("Every panel shows the network as it was at the chosen moment of training")
        self.back_button = QToolButton()
        self.back_button.setObjectName("timelineBack")
        self.back_button.setArrowType(Qt.ArrowType.LeftArrow)
        self.back_button.setToolTip("An earlier snapshot (Alt+Left)")
        self.back_button.setAutoRepeat(True)
        self.back_button.clicked.connect(lambda: self.nudge(-1))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("timelineSlider")
        self.slider.setToolTip(
            "Drag to look back through training; the panels follow. "
            "Training goes on; press Live to follow it again."
        )
        self.slider.setRange(0, 0)
        self.slider.setMinimumWidth(240)
        self.slider.setTracking(True)
        self.slider.valueChanged.connect(self._on_slider_value_changed)
        self.forward_button = QToolButton()
        self.forward_button.setObjectName("timelineForward")
        self.forward_button.setArrowType(Qt.ArrowType.RightArrow)
        self.forward_button.setToolTip("A later snapshot (Alt+Right)")
        self.forward_button.setAutoRepeat(True)
        self.forward_button.clicked.connect(lambda: self.nudge(1))
        self.label = QLabel()
        self.label.setObjectName("timelineLabel")
        self.label.setMinimumWidth(230)
        self.live_button = QToolButton()
        self.live_button.setObjectName("timelineLive")
        self.live_button.setText("● Live")
        self.live_button.setCheckable(True)
        self.live_button.setChecked(True)
        self.live_button.setToolTip("Follow training as it happens (Alt+End)")
        self.live_button.clicked.connect(self._on_live_button_clicked)
        for w in (title, self.back_button, self.slider, self.forward_button, self.label, self.live_button):
            lay.addWidget(w, 1 if w is self.slider else 0)
        self._update()

    # ------------------------------------------------------------ state from the controller

    @property
    def live(self) -> bool:
        return self._live

    @property
    def index(self) -> int:
        return self.slider.value()

    def set_history(self, steps: list[int], epochs: list[int], index: int | None, live: bool) -> None:
        """Show a history of snapshots; ``index`` is the one on screen (None: the newest)."""
        self._steps, self._epochs, self._live = list(steps), list(epochs), live
        n = len(steps)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, n - 1))
        self.slider.setValue(n - 1 if index is None else index)
        self.slider.blockSignals(False)
        self._update()

    def nudge(self, delta: int) -> None:
        """One snapshot earlier (negative) or later; past the newest means live."""
        if not self._steps:
            return
        i = self.slider.value() + delta
        if i >= len(self._steps) - 1 and delta > 0 and not self._live:
            self.live_requested.emit()
            return
        self.slider.setValue(max(0, min(i, len(self._steps) - 1)))

    # ------------------------------------------------------------ internals

    def _on_slider_value_changed(self, index: int) -> None:
        self._live = False
        self._update()
        self.scrubbed.emit(index)

    def _on_live_button_clicked(self, checked: bool) -> None:
        if checked:
            self.live_requested.emit()
        else:  # un-checking Live pins the panels where they are
            self._live = False
            if self._steps:
                self.scrubbed.emit(self.slider.value())
        self._update()

    def _update(self) -> None:
        n = len(self._steps)
        self.setEnabled(n > 0)
        self.live_button.setChecked(self._live)
        i = self.slider.value()
        if n == 0:
            self.label.setText("no snapshots yet: press Train")
        else:
            step, epoch = self._steps[i], self._epochs[i]
            where = "live" if self._live else f"{i + 1} of {n} snapshots"
            self.label.setText(f"Step {step:,} · epoch {epoch} ({where})")
        self.back_button.setEnabled(n > 1 and i > 0)
        self.forward_button.setEnabled(n > 1 and (i < n - 1 or not self._live))
