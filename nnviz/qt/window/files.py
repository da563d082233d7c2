"""Project files as the window keeps track of them: the recent files, the last folder, the
autosave of unsaved work and its recovery after a crash. The window asks the questions
(which file, save first?); this remembers the answers in the window's QSettings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMenu

from ...core.graph import Network
from ...core.project import Project, ProjectError
from ..document import ProjectDocument

MAX_RECENT = 8
AUTOSAVE_MS = 30_000
AUTOSAVE_NAME = "autosave.nnviz.json"
FILE_FILTER = "nnviz projects (*.json);;All files (*)"


def new_project() -> Project:
    """What File > New gives: an Input and an Output, waiting for layers between them."""
    net = Network()
    net.add_node("Input", {}, (0.0, 0.0))
    net.add_node("Output", {}, (600.0, 0.0))
    return Project(network=net, name="Untitled")


def file_stem(title: str) -> str:
    """A file name (without suffix) made from a project's title."""
    stem = "".join(c if c.isalnum() or c in "-_ " else "" for c in title).strip().replace(" ", "-")
    return (stem or "untitled").lower()[:40]


class ProjectFiles:
    """The recent files (for File > Open Recent), the last folder, and the autosave file."""

    def __init__(self, settings: QSettings, autosave_dir: str | Path) -> None:
        self.settings = settings
        self.autosave_path = Path(autosave_dir) / AUTOSAVE_NAME
        self._autosaved_index = -1  # the undo index the autosave file holds

    # ------------------------------------------------------------ recent files

    def last_dir(self) -> str:
        return str(self.settings.value("last_dir", str(Path.home())))

    def recent(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):  # QSettings gives a lone string for a one-item list
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent(self, path: Path) -> None:
        path = str(Path(path).resolve())
        files = [path] + [f for f in self.recent() if f != path]
        self.settings.setValue("recent_files", files[:MAX_RECENT])
        self.settings.setValue("last_dir", str(Path(path).parent))

    def clear_recent(self) -> None:
        self.settings.setValue("recent_files", [])

    def fill_recent_menu(self, menu: QMenu, open_file, cleared) -> None:
        """The recent files in ``menu``: ``open_file(path)`` opens one, ``cleared()`` follows Clear."""
        menu.clear()
        files = self.recent()
        for i, f in enumerate(files):
            a = menu.addAction(f"&{i + 1} {Path(f).name}")
            a.setToolTip(f)
            a.setStatusTip(f)
            a.triggered.connect(lambda _c=False, p=f: open_file(p))
        if files:
            menu.addSeparator()
            menu.addAction("Clear the list", cleared)
        else:
            menu.addAction("(none yet)").setEnabled(False)

    # ------------------------------------------------------------ autosave and recovery

    def forget_autosave(self) -> None:
        """Another document: the next autosave writes whatever it holds."""
        self._autosaved_index = -1

    def autosave(self, doc: ProjectDocument | None) -> bool:
        """Write a modified document to the autosave file (only when it changed since)."""
        if doc is None or not doc.modified or doc.undo_stack.index() == self._autosaved_index:
            return False
        try:
            doc.project.save(self.autosave_path)
        except ProjectError:
            return False  # autosave is a courtesy; never interrupt the user for it
        self._autosaved_index = doc.undo_stack.index()
        self.settings.setValue("autosave/source", str(doc.path) if doc.path else "")
        return True

    def crashed_with_work(self) -> bool:
        """The last run did not close cleanly and left an autosave behind."""
        crashed = self.settings.value("session/clean_exit", True) in (False, "false")
        return crashed and self.autosave_path.is_file()

    def begin_session(self) -> None:
        """This run has not closed cleanly (yet)."""
        self.settings.setValue("session/clean_exit", False)
        self.settings.sync()

    def recovered_document(self) -> ProjectDocument:
        """The autosaved work as an unsaved document (raises ProjectError when it cannot be read)."""
        project = Project.load(self.autosave_path)
        source = str(self.settings.value("autosave/source", "") or "")
        doc = ProjectDocument(project, source or None)
        doc.undo_stack.resetClean()  # recovered work is unsaved work
        return doc

    def end_session(self) -> None:
        """A clean exit: the autosave is no longer needed."""
        self.autosave_path.unlink(missing_ok=True)
        self.settings.setValue("session/clean_exit", True)
