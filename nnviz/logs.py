"""The log file: where tracebacks go instead of the user's terminal or window.

``configure_logging()`` is called once by each entry point (the CLI's ``main`` and the
app's). It sends every record of level INFO and above to ``nnviz.log`` in the user's
data folder (``$NNVIZ_LOG_DIR`` overrides it, for tests), so Python's last-resort
handler never prints a logged traceback on stderr, and it counts the errors logged with
a traceback, so the CLI can tell a failure of its own from one the user's input caused.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

LOG_DIR_ENV = "NNVIZ_LOG_DIR"
LOG_NAME = "nnviz.log"
MAX_BYTES = 1 << 20  # the file is cut back to its newest half beyond this, at start


class _ErrorCounter(logging.Handler):
    """Counts the errors logged with a traceback: faults nnviz caught in its own code."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.count += 1


_counter = _ErrorCounter()
_handler: logging.Handler | None = None
_path: Path | None = None


def default_log_dir() -> Path:
    """``$NNVIZ_LOG_DIR``, else the user's data folder as platformdirs gives it (``~/.local/share/nnviz``)."""
    env = os.environ.get(LOG_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("nnviz", appauthor=False))


def configure_logging() -> Path | None:
    """Log to the log file from now on; returns its path, or None where it cannot be written.

    Calling it again with the same folder changes nothing; after ``$NNVIZ_LOG_DIR``
    changed (tests do that) the handler moves to the new file.
    """
    global _handler, _path
    root = logging.getLogger()
    if _counter not in root.handlers:
        root.addHandler(_counter)
    path = default_log_dir() / LOG_NAME
    if _handler is not None and path == _path:
        return _path
    if _handler is not None:
        root.removeHandler(_handler)
        _handler.close()
        _handler, _path = None, None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _trim(path)
        handler = logging.FileHandler(path, encoding="utf-8", errors="backslashreplace")
    except OSError:
        # No file: keep tracebacks off the terminal all the same (lastResort would print them).
        handler, path = logging.NullHandler(), None
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(name)s %(levelname)s: %(message)s"))
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    _handler, _path = handler, path
    return path


def log_path() -> Path | None:
    """The file ``configure_logging`` writes to, or None before it ran or where it could not."""
    return _path


def errors_logged() -> int:
    """How many errors were logged with a traceback since ``configure_logging`` first ran."""
    return _counter.count


def _trim(path: Path) -> None:
    """Keep the log from growing without end: beyond MAX_BYTES only its newest half stays."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size <= MAX_BYTES:
        return
    with open(path, "rb") as fh:
        fh.seek(size - MAX_BYTES // 2)
        tail = fh.read()
    from .core.project import atomic_write

    try:
        atomic_write(path, tail[tail.find(b"\n") + 1 :])
    except Exception:  # a log that cannot be trimmed is still a log
        pass
