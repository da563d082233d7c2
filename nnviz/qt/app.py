"""``nnviz [PROJECT.json] [--preset NAME]``: start the desktop app.

The window must be on screen fast, so nothing here (or in what it imports) pulls in
JAX, Flax, Optax or pyqtgraph. Training runs in the engine process
(nnviz.engine.process), started just after the window shows; this process imports JAX
only for a loss surface.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

_T0 = time.perf_counter()

from PySide6.QtCore import QEvent, QObject, Qt, QTimer  # noqa: E402
from PySide6.QtGui import QColor, QGuiApplication, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from ..subcommands import SUBCOMMANDS  # noqa: E402

ORGANIZATION = "nnviz"
APPLICATION = "nnviz"
PROBE_ENV = "NNVIZ_STARTUP_PROBE"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="nnviz",
        description="Build a neural network by drag and drop and watch it learn.",
        epilog=f"Sub-commands (headless): nnviz {' | '.join(SUBCOMMANDS)}  (see nnviz --help)",
    )
    p.add_argument("project", nargs="?", metavar="PROJECT.json", help="a project file to open")
    p.add_argument("--preset", metavar="NAME", help="open one of the shipped examples")
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="folder with one subfolder per image set, e.g. mnist/ (default: $NNVIZ_DATA_DIR or the cache folder)",
    )
    p.add_argument("--no-download", action="store_true", help="never download datasets")
    return p.parse_args(argv)


def dark_palette() -> QPalette:
    """A calm dark palette for Fusion, used when the system asks for dark mode."""
    pal = QPalette()
    base, window, text = QColor(30, 31, 34), QColor(43, 45, 48), QColor(223, 225, 229)
    disabled = QColor(120, 122, 128)
    for role, colour in (
        (QPalette.ColorRole.Window, window),
        (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base),
        (QPalette.ColorRole.AlternateBase, QColor(50, 52, 56)),
        (QPalette.ColorRole.ToolTipBase, QColor(60, 63, 65)),
        (QPalette.ColorRole.ToolTipText, text),
        (QPalette.ColorRole.Text, text),
        (QPalette.ColorRole.Button, window),
        (QPalette.ColorRole.ButtonText, text),
        (QPalette.ColorRole.BrightText, QColor(255, 90, 90)),
        (QPalette.ColorRole.Link, QColor(110, 170, 255)),
        (QPalette.ColorRole.Highlight, QColor(53, 116, 240)),
        (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255)),
        (QPalette.ColorRole.PlaceholderText, disabled),
        (QPalette.ColorRole.Mid, QColor(70, 72, 76)),
        (QPalette.ColorRole.Dark, QColor(25, 26, 28)),
    ):
        pal.setColor(role, colour)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return pal


def apply_color_scheme(app: QApplication) -> None:
    """Follow the system's light or dark setting (Fusion draws the same everywhere)."""
    scheme = QGuiApplication.styleHints().colorScheme()
    if scheme == Qt.ColorScheme.Dark:
        app.setPalette(dark_palette())
    else:
        app.setPalette(app.style().standardPalette())


class _StartupProbe(QObject):
    """With NNVIZ_STARTUP_PROBE=1: print when the window is first exposed, then quit."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.done = False

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if not self.done and event.type() == QEvent.Type.Expose and obj.isExposed():
            self.done = True
            QTimer.singleShot(0, self._report)
        return False

    def _report(self) -> None:
        # Both clocks: the wall clock for a parent process that timed the spawn, and the
        # time since this module was imported for a reader without one.
        print(
            f"nnviz-startup-probe wall={time.time():.6f} since_import={time.perf_counter() - _T0:.6f}",
            flush=True,
        )
        self.window.close()


def make_application(argv0: str = "nnviz", qt_args: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication([argv0, *(qt_args or [])])
    app.setOrganizationName(ORGANIZATION)
    app.setOrganizationDomain("nnviz.org")
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("nnviz")
    app.setStyle("Fusion")
    # The training thread needs the GIL for a moment between jitted chunks; with Python's
    # default 5 ms switch interval it waited behind the panels' Python code, and training
    # in the window ran at 0.40 of headless speed (0.49 at 1 ms), with input answered later.
    sys.setswitchinterval(0.001)
    from PySide6.QtGui import QIcon

    from .editor.style import icons_dir

    app.setWindowIcon(QIcon(str(icons_dir() / "nnviz.svg")))
    apply_color_scheme(app)
    QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _s: apply_color_scheme(app))
    return app


def main(argv: list[str] | None = None) -> int:
    from ..logs import configure_logging

    configure_logging()  # tracebacks of caught faults go to the log file, never to the terminal
    argv = list(sys.argv[1:] if argv is None else argv)
    existing = QApplication.instance() is not None
    app = make_application(sys.argv[0] if sys.argv else "nnviz", argv)
    # A new QApplication has taken Qt's own options (-platform, -style, ...) out of its arguments.
    words = argv if existing else app.arguments()[1:]
    try:
        args = parse_args(words)
    except SystemExit as exc:
        return int(exc.code or 0)

    from ..core.presets import load_preset
    from ..core.project import ProjectError
    from .document import ProjectDocument
    from .main_window import MainWindow, running_session_threads

    window = MainWindow(data_dir=args.data_dir, download=not args.no_download)
    error = ""
    if args.project:
        window.load_file(args.project)  # with its saved run, as File > Open does; says why if it cannot
    elif args.preset:
        try:
            window.set_document(ProjectDocument(load_preset(args.preset)))
        except ProjectError as exc:
            error = str(exc)
    probe = os.environ.get(PROBE_ENV) == "1"
    if probe:
        window.winId()  # create the native window now, to watch its first exposure
        window.windowHandle().installEventFilter(_StartupProbe(window))
    window.show()
    if error:
        window.show_error(error)
    QTimer.singleShot(0, window.editor.fit_to_view)
    if not probe:
        QTimer.singleShot(0, window.begin_session)
        # The engine process imports JAX while the user builds a network, not after Train.
        QTimer.singleShot(300, window.bridge.prewarm)
    code = app.exec()
    # Copied nodes live in a QMimeData made in Python; Qt frees clipboard data in its own
    # exit handlers, after Python has finalised, and that segfaulted every exit after a copy.
    from .editor import NODES_MIME

    clipboard = app.clipboard()
    data = clipboard.mimeData()
    if data is not None and data.hasFormat(NODES_MIME):
        clipboard.clear()
    if running_session_threads():
        # A training thread stuck in a long compilation must not hold the process open:
        # the window is gone and the project was saved or discarded by the user.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
