"""The status bar's account of training and of the network: what the run is doing, its progress,
a Cancel button for downloads, and whether the network can be trained."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

if TYPE_CHECKING:
    from ..bridge import SessionBridge
    from ..document import ProjectDocument


class TrainingStatus(QObject):
    """Fills the status bar from the session bridge's messages; the window says when a run starts."""

    def __init__(self, bar: QStatusBar, bridge: SessionBridge) -> None:
        super().__init__(bar)
        self.bar = bar
        self.bridge = bridge
        self.run_config = None  # TrainingConfig of the running session
        self.restoring = False  # the running session only shows a run read from a file
        self.status_label = QLabel("Ready")
        self.status_label.setObjectName("trainingStatus")
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("trainingProgress")
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setMinimumWidth(160)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Cancel the download (nothing half-downloaded is kept)")
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        self.cancel_button.hide()
        self.problem_label = QLabel()
        self.problem_label.setObjectName("networkStatus")
        bar.addWidget(self.status_label, 1)
        bar.addPermanentWidget(self.cancel_button)
        bar.addPermanentWidget(self.progress_bar)
        bar.addPermanentWidget(self.problem_label)
        bridge.loading.connect(self._on_bridge_loading)
        bridge.compiling.connect(self._on_bridge_compiling)
        bridge.state_changed.connect(self._on_bridge_state_changed)
        bridge.progress.connect(self._on_bridge_progress)
        bridge.epoch_ended.connect(self._on_bridge_epoch_ended)
        bridge.finished.connect(self._on_bridge_finished)
        bridge.failed.connect(self._on_bridge_failed)

    # ------------------------------------------------------------ told by the window

    def show_idle(self) -> None:
        self.status_label.setText("Ready")
        self.progress_bar.hide()
        self.cancel_button.hide()

    def show_network(self, document: ProjectDocument, problem: str) -> None:
        """The network's check: its problems (``problem`` the first), or that it is ready and how big."""
        n = len(document.analysis.problems)
        if n:
            short = problem if len(problem) < 90 else problem[:87] + "…"
            self.problem_label.setText(f"⚠ {n} problem{'s' if n != 1 else ''}: {short}")
            self.problem_label.setStyleSheet("color: #c62828;")
            self.problem_label.setToolTip("\n".join(document.analysis.messages(document.network)))
        else:
            params = document.analysis.total_params
            self.problem_label.setText(f"✔ Ready · {params:,} parameters")
            self.problem_label.setStyleSheet("color: #2e7d32;")
            self.problem_label.setToolTip("The network is valid and can be trained.")

    def metrics_text(self, p) -> str:
        """A Progress message as the status bar says it (with the last test accuracy)."""
        cfg = self.run_config
        epochs = f"/{cfg.epochs}" if cfg is not None and not cfg.max_steps else ""
        text = (
            f"Epoch {p.epoch}{epochs} · step {p.step:,}/{p.total_steps:,} · loss {p.train_loss:.4f}"
            f" · accuracy {100 * p.train_accuracy:.1f} %"
        )
        e = self.bridge.last_epoch
        if e is not None and not math.isnan(e.test_accuracy):
            text += f" · test accuracy {100 * e.test_accuracy:.1f} %"
        return text

    # ------------------------------------------------------------ the bridge's messages

    def _on_cancel_button_clicked(self) -> None:
        self.bridge.stop()
        self.status_label.setText("Cancelling the download…")

    def _on_bridge_loading(self, what: str, done: int, total: int) -> None:
        downloading = what.startswith("Downloading")
        self.cancel_button.setVisible(downloading)
        self.progress_bar.show()
        if total > 0:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(1000 * done / total))
            self.progress_bar.setFormat(f"{done / 1e6:.1f} / {total / 1e6:.1f} MB")
        else:
            self.progress_bar.setRange(0, 0)
        self.status_label.setText(
            f"{what}…" + (f" {done / 1e6:.1f} MB" if downloading and total <= 0 and done else "")
        )

    def _on_bridge_compiling(self, what: str) -> None:
        self.cancel_button.hide()
        self.progress_bar.setRange(0, 0)
        self.progress_bar.show()
        self.status_label.setText(f"Compiling {what}…")

    def _on_bridge_state_changed(self, state: str) -> None:
        if state == "paused":
            p = self.bridge.last_progress
            self.status_label.setText(f"Paused · {self.metrics_text(p)}" if p else "Paused")

    def _on_bridge_progress(self, p) -> None:
        self.cancel_button.hide()
        self.progress_bar.show()
        self.progress_bar.setRange(0, max(1, p.total_steps))
        self.progress_bar.setValue(p.step)
        self.progress_bar.setFormat("%p %")
        prefix = "Paused · " if self.bridge.paused else ""
        self.status_label.setText(prefix + self.metrics_text(p))

    def _on_bridge_epoch_ended(self, e) -> None:
        p = self.bridge.last_progress
        if p is not None:
            self.status_label.setText(self.metrics_text(p))

    def _on_bridge_finished(self, f) -> None:
        self.cancel_button.hide()
        m = f.metrics
        acc = m.get("test_accuracy", math.nan)
        e = self.bridge.last_epoch
        if not (isinstance(acc, float) and not math.isnan(acc)) and e is not None:
            acc = float(e.test_accuracy)  # a run that trained no step: its last epoch's numbers
        acc_text = (
            f", test accuracy {100 * acc:.1f} %" if isinstance(acc, float) and not math.isnan(acc) else ""
        )
        verb = "Stopped" if f.reason == "stopped" else "Finished"
        if self.restoring and f.reason == "completed":  # it trained nothing: say what was opened
            epoch = f", epoch {e.epoch:,}" if e is not None else ""
            self.status_label.setText(f"Opened the trained run: step {f.step:,}{epoch}{acc_text}")
        else:
            self.status_label.setText(f"{verb} after {f.step:,} steps ({f.seconds:.1f} s){acc_text}")
        self.restoring = False
        if f.reason == "completed":
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(1)
        else:
            self.progress_bar.hide()

    def _on_bridge_failed(self, f) -> None:
        self.cancel_button.hide()
        self.progress_bar.hide()
        self.status_label.setText("Training failed")
        self.bar.showMessage(f.reason.splitlines()[0], 15000)
