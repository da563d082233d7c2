"""The settings panel's dataset menu and the document's analysis read the dataset catalogue."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import Qt

from nnviz.core import datasets as D
from nnviz.core.datasets import DatasetSpec
from nnviz.qt.document import ProjectDocument, context_for
from nnviz.qt.settings_panel import TrainingSettingsPanel


@pytest.fixture
def kmnist(monkeypatch):
    """A made-up image set added to the catalogue, as a newcomer would add one."""
    mnist = D.entry("mnist")
    e = dataclasses.replace(
        mnist,
        name="kmnist",
        title="Kuzushiji-MNIST",
        class_names=tuple(f"k{i}" for i in range(10)),
        description="Cursive Japanese characters.",
    )
    monkeypatch.setitem(D.CATALOGUE, "kmnist", e)
    return e


def menu(panel):
    box = panel.dataset
    return [(box.itemData(i), box.itemText(i)) for i in range(box.count())]


def test_menu_lists_the_catalogue_in_order(qtbot, doc):
    panel = TrainingSettingsPanel(doc)
    qtbot.addWidget(panel)
    expected = [(n, D.entry(n).menu_text) for n in D.names() if D.entry(n).kind != "files"]
    assert menu(panel) == expected
    box = panel.dataset
    for i in range(box.count()):  # each entry says what it holds
        assert box.itemData(i, Qt.ItemDataRole.ToolTipRole) == D.entry(box.itemData(i)).description


def test_a_new_catalogue_entry_reaches_the_menu_and_the_analysis(qtbot, doc, kmnist):
    panel = TrainingSettingsPanel(doc)
    qtbot.addWidget(panel)
    panel.show()
    assert ("kmnist", "Kuzushiji-MNIST (28×28)") in menu(panel)
    box = panel.dataset
    box.setCurrentIndex(box.findData("kmnist"))
    box.activated.emit(box.currentIndex())
    assert doc.project.dataset.name == "kmnist"
    ctx = doc.context
    assert (ctx.input_shape, ctx.n_classes, ctx.dataset_name) == ((28, 28, 1), 10, "Kuzushiji-MNIST")
    assert not panel.noise.isVisibleTo(panel)  # an image set has no toy settings


def test_context_for_every_catalogue_entry():
    for name in D.names():
        ctx = context_for(DatasetSpec(name=name, path="/x/my.csv"), (5,), 3)
        e = D.entry(name)
        if e.kind == "files":
            assert (ctx.input_shape, ctx.n_classes, ctx.dataset_name) == ((5,), 3, "my.csv")
        else:
            assert (ctx.input_shape, ctx.n_classes, ctx.dataset_name) == (
                e.sample_shape,
                len(e.class_names),
                e.title,
            )


def test_imported_files_show_in_the_menu(qtbot, tmp_path, qapp):
    doc = ProjectDocument()
    doc.project.dataset = DatasetSpec(name="files", path=str(tmp_path / "a.csv"))
    panel = TrainingSettingsPanel(doc)
    qtbot.addWidget(panel)
    panel.refresh()
    assert panel.dataset.currentData() == "files"
    assert panel.dataset.currentText() == D.entry("files").menu_text


def test_import_tooltip_names_the_column_the_csv_loader_reads(qtbot, doc, tmp_path):
    """The tooltip used to say a CSV's label is its last column; the loader reads the first."""
    panel = TrainingSettingsPanel(doc)
    qtbot.addWidget(panel)
    tip = panel.import_button.toolTip()
    assert "CSV whose first column is the label" in tip and "last" not in tip
    assert "first column" in D.entry("files").description
    path = tmp_path / "t.csv"
    path.write_text("kind,a,b\n" + "".join(f"{'cat' if i % 2 else 'dog'},{i},{i * 2}\n" for i in range(20)))
    d = D.load_dataset(DatasetSpec(name="files", path=str(path)))
    assert d.class_names == ("cat", "dog") and d.input_shape == (2,)
