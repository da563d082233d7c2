"""File > Open with bad project files, in the real window: a message, and the open document stays."""

from __future__ import annotations

import os

import pytest
from PySide6.QtWidgets import QFileDialog

from nnviz.core.presets import load_preset
from nnviz.qt.document import ProjectDocument
from tests.bad_inputs.projects import CASES, write

# Those that raised out of Open before (a TypeError, RecursionError, ValueError), those
# that hung it, and a few that were always refused, for the message's sake.
OPENED = [
    "type-list",
    "type-object",
    "deep-list-in-params",
    "int-5000-digits",
    "int-309-digits-units",
    "surrogate-node-name",
    "too-many-nodes",
    "named-pipe",
    "format-version-string",
    "truncated-at-85",
]


@pytest.mark.parametrize("name", OPENED)
def test_file_open_of_a_bad_project_shows_why_and_keeps_the_document(
    name, make_window, qtbot, tmp_path, monkeypatch
):
    if name == "named-pipe" and not hasattr(os, "mkfifo"):
        pytest.skip("this platform has no named pipes")
    case = next(c for c in CASES if c.name == name)
    path = write(case, tmp_path)
    w = make_window(ProjectDocument(load_preset("xor-one-hidden")))
    w.show()
    qtbot.waitExposed(w)
    before_doc, before = w.document, w.document.project.to_dict()
    asked = []

    def choose(*args, **kwargs):
        asked.append(args)
        return str(path), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(choose))
    w.action_open.trigger()  # File > Open…, as a click on the menu entry does
    assert asked  # the file dialog was asked
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=5000)
    message = w.banner.text.text()
    assert str(path) in message and case.expect in message.replace(str(path), "<file>"), message
    assert w.document is before_doc and w.document.project.to_dict() == before
    assert w.windowTitle().startswith("XOR: why a hidden layer is needed")
