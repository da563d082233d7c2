"""The inspector: edit the selected node's parameters, or read the network's totals.

The form is generated from the layer type's ParamSpecs, so a new layer type needs no
inspector code. Every edit goes through the document (one undoable, merged command);
the form only mirrors the document and is refreshed from it after each change.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core.layers import ACTIVATION_FORMULAS, ParamSpec, Role, layer_type, shape_text
from .document import ProjectDocument
from .wiring import rewire

CHOICE_TEXT = {
    "linear": "Linear (none)",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "relu": "ReLU",
    "leaky_relu": "Leaky ReLU",
    "softmax": "Softmax",
    "same": "Same (pad)",
    "valid": "Valid (no pad)",
    "cross_entropy": "Cross-entropy",
    "mse": "Mean squared error",
}


def _muted(text: str) -> str:
    return f"<span style='color: palette(placeholder-text)'>{text}</span>"


class NodeInspector(QWidget):
    """A form for the selected node's name and parameters; network totals when none is selected."""

    edited = Signal(str)  # the reason an edit was refused, or "" when it was made

    def __init__(self, document: ProjectDocument | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: ProjectDocument | None = None
        self.node_ids: list[str] = []
        self.editors: dict[str, QWidget] = {}  # parameter name -> its widget
        self.name_edit: QLineEdit | None = None
        self._form_key: tuple | None = None  # what the current form was built for

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer.addWidget(scroll)
        self._body = QWidget()
        scroll.setWidget(self._body)
        self._layout = QVBoxLayout(self._body)
        self._layout.setContentsMargins(10, 8, 10, 8)
        self.title = QLabel()
        self.title.setObjectName("inspectorTitle")
        f = self.title.font()
        f.setPointSizeF(f.pointSizeF() * 1.25)
        f.setBold(True)
        self.title.setFont(f)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.formula = QLabel()
        self.formula.setWordWrap(True)
        self.formula.setObjectName("formula")
        self.formula.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.formula.setStyleSheet(
            "QLabel#formula { font-family: monospace; padding: 6px;"
            " border-radius: 4px; background: palette(alternate-base); }"
        )
        self._form_host = QWidget()
        self.form = QFormLayout(self._form_host)
        self.form.setContentsMargins(0, 6, 0, 6)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.facts = QLabel()
        self.facts.setWordWrap(True)
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setObjectName("problems")
        self.problems.setTextFormat(Qt.TextFormat.RichText)
        for w in (self.title, self.summary, self.formula, self._form_host, self.facts, self.problems):
            self._layout.addWidget(w)
        self._layout.addStretch(1)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        if document is not None:
            self.set_document(document)

    # ------------------------------------------------------------ wiring

    def set_document(self, document: ProjectDocument) -> None:
        old = self._connections() if self.document is not None else []
        self.document = document
        rewire(old, self._connections())
        self.node_ids = []
        self._form_key = None
        self.refresh()

    def _connections(self):
        d = self.document
        return [
            (d.network_changed, self.refresh),
            (d.analysis_changed, self._on_document_analysis_changed),
            (d.lock_changed, self._on_document_lock_changed),
        ]

    def set_selection(self, node_ids: list[str]) -> None:
        """Show the given nodes (the editor's selection)."""
        self.node_ids = [i for i in node_ids if self.document and i in self.document.network.nodes]
        self.refresh()

    def _on_document_analysis_changed(self, _analysis) -> None:
        self.refresh()

    def _on_document_lock_changed(self, locked: bool) -> None:
        self.refresh()

    # ------------------------------------------------------------ building the form

    def refresh(self) -> None:
        doc = self.document
        if doc is None:
            return
        self.node_ids = [i for i in self.node_ids if i in doc.network.nodes]
        if len(self.node_ids) == 1:
            self._show_node(self.node_ids[0])
        else:
            self._show_totals()

    def _clear_form(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.editors = {}
        self.name_edit = None

    def _show_totals(self) -> None:
        doc = self.document
        if self._form_key != ("totals",):
            self._clear_form()
            self._form_key = ("totals",)
        net, analysis = doc.network, doc.analysis
        n_sel = len(self.node_ids)
        self.title.setText(f"{n_sel} nodes selected" if n_sel > 1 else "Network")
        self.summary.setText(
            "Select a node to edit its settings."
            if n_sel == 0
            else "Select a single node to edit its settings."
        )
        self.formula.hide()
        ctx = doc.context
        outputs = net.nodes_of_role(Role.OUTPUT)
        out_shape = analysis.shapes.get(outputs[0].id) if outputs else None
        rows = [
            ("Layers", f"{len(net.nodes)}"),
            ("Connections", f"{len(net.edges)}"),
            ("Parameters", f"{analysis.total_params:,}" if analysis.ok or analysis.param_counts else "?"),
            ("Input shape", shape_text(ctx.input_shape)),
            ("Output shape", shape_text(out_shape)),
            ("Classes", str(ctx.n_classes) if ctx.n_classes else "?"),
        ]
        if n_sel > 1:
            rows.insert(
                3, ("Selected parameters", f"{sum(analysis.param_counts.get(i, 0) for i in self.node_ids):,}")
            )
        self.facts.setText(self._table(rows))
        n = len(analysis.problems)
        if n == 0:
            self.problems.setText("<b style='color:#2e7d32'>✔ Ready to train</b>")
        else:
            items = "".join(f"<li>{html.escape(t)}</li>" for t in analysis.messages(net)[:8])
            more = f"<p>…and {n - 8} more</p>" if n > 8 else ""
            self.problems.setText(
                f"<b style='color:#c62828'>{n} problem{'s' if n != 1 else ''}</b>"
                f"<ul style='margin-left:-20px'>{items}</ul>{more}"
            )

    @staticmethod
    def _table(rows) -> str:
        cells = "".join(
            f"<tr><td style='padding-right:12px'>{_muted(html.escape(k))}</td>"
            f"<td><b>{html.escape(v)}</b></td></tr>"
            for k, v in rows
        )
        return f"<table>{cells}</table>"

    def _show_node(self, node_id: str) -> None:
        doc = self.document
        node = doc.network.nodes[node_id]
        t = layer_type(node.type)
        key = ("node", node_id, node.type)
        if self._form_key != key:
            self._build_node_form(node_id)
            self._form_key = key
        self.title.setText(f"{node.type}")
        self.summary.setText(t.summary)
        formula = t.formula
        act = t.activation(node.params)
        if act in ACTIVATION_FORMULAS:
            formula += f"\nwhere {ACTIVATION_FORMULAS[act]}"
        self.formula.setText(formula)
        self.formula.show()
        self._sync_values(node_id)
        analysis = doc.analysis
        ins = [analysis.shapes.get(s) for s in doc.network.inputs_of(node_id)]
        rows = [
            ("Input shape", ", ".join(shape_text(s) for s in ins) if ins else "—"),
            ("Output shape", shape_text(analysis.shapes.get(node_id)) if t.has_output else "— (the loss)"),
            (
                "Parameters",
                f"{analysis.param_counts[node_id]:,}" if node_id in analysis.param_counts else "?",
            ),
        ]
        self.facts.setText(self._table(rows))
        probs = analysis.problems_of(node_id)
        if probs:
            items = "".join(f"<li>{html.escape(p)}</li>" for p in probs)
            self.problems.setText(
                f"<b style='color:#c62828'>⚠ Problem</b><ul style='margin-left:-20px'>{items}</ul>"
            )
        else:
            self.problems.setText("")
        locked = doc.training_lock
        for w in self.editors.values():
            w.setEnabled(not locked)

    def _build_node_form(self, node_id: str) -> None:
        self._clear_form()
        node = self.document.network.nodes[node_id]
        self.name_edit = QLineEdit(node.name)
        self.name_edit.setObjectName("name")
        self.name_edit.setToolTip("The node's name, shown on the canvas and in messages.")
        self.name_edit.editingFinished.connect(self._on_name_edit_editing_finished)
        self.form.addRow("Name", self.name_edit)
        for spec in node.layer.params:
            w = self._editor_for(spec)
            w.setObjectName(spec.name)
            w.setToolTip(spec.help)
            label = QLabel(spec.title)
            label.setToolTip(spec.help)
            self.form.addRow(label, w)
            self.editors[spec.name] = w

    def _editor_for(self, spec: ParamSpec) -> QWidget:
        name = spec.name
        if spec.kind == "int":
            w = QSpinBox()
            w.setRange(
                int(spec.minimum if spec.minimum is not None else -(2**31)),
                int(spec.maximum if spec.maximum is not None else 2**31 - 1),
            )
            w.setKeyboardTracking(False)  # one edit when the user presses Enter, not one per digit
            w.valueChanged.connect(lambda v, n=name: self._commit(n, int(v)))
        elif spec.kind == "float":
            w = QDoubleSpinBox()
            w.setDecimals(4)
            w.setRange(
                spec.minimum if spec.minimum is not None else -1e9,
                spec.maximum if spec.maximum is not None else 1e9,
            )
            w.setSingleStep(0.05 if (spec.maximum or 0) <= 1 else 0.1)
            w.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
            w.setKeyboardTracking(False)
            w.valueChanged.connect(lambda v, n=name: self._commit(n, float(v)))
        elif spec.kind == "choice":
            w = QComboBox()
            for c in spec.choices:
                w.addItem(CHOICE_TEXT.get(c, c), c)
            w.activated.connect(lambda i, n=name, box=w: self._commit(n, box.itemData(i)))
        else:
            w = QCheckBox()
            w.toggled.connect(lambda v, n=name: self._commit(n, bool(v)))
        return w

    def _sync_values(self, node_id: str) -> None:
        node = self.document.network.nodes[node_id]
        if self.name_edit is not None and not self.name_edit.hasFocus():
            self.name_edit.setText(node.name)
        for spec in node.layer.params:
            w = self.editors.get(spec.name)
            value = node.params.get(spec.name, spec.default)
            w.blockSignals(True)
            try:
                if isinstance(w, QComboBox):
                    w.setCurrentIndex(max(0, w.findData(value)))
                elif isinstance(w, QCheckBox):
                    w.setChecked(bool(value))
                else:
                    w.setValue(value)
            finally:
                w.blockSignals(False)
        act = node.layer.activation(node.params)
        if "alpha" in self.editors:  # alpha only matters for leaky ReLU
            self.editors["alpha"].setVisible(act == "leaky_relu")
            self.form.setRowVisible(self.editors["alpha"], act == "leaky_relu")

    # ------------------------------------------------------------ edits

    def _commit(self, name: str, value) -> None:
        if len(self.node_ids) != 1:
            return
        reason = self.document.set_param(self.node_ids[0], name, value)
        if reason:  # refused: show the document's value again
            self._sync_values(self.node_ids[0])
        self.edited.emit(reason or "")

    def _on_name_edit_editing_finished(self) -> None:
        if len(self.node_ids) != 1 or self.name_edit is None:
            return
        reason = self.document.rename_node(self.node_ids[0], self.name_edit.text())
        if reason:
            self.name_edit.setText(self.document.network.nodes[self.node_ids[0]].name)
        self.edited.emit(reason or "")
