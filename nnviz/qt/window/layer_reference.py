"""Help > Layer Reference: every layer type with its summary, formula and parameters."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from ...core.layers import LAYER_TYPES


class LayerReferenceDialog(QDialog):
    """Help > Layer reference: every layer type with its summary, formula and parameters."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Layer reference — nnviz")
        self.resize(720, 640)
        lay = QVBoxLayout(self)
        self.browser = QTextBrowser()
        self.browser.setHtml(self.reference_html())
        lay.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        lay.addWidget(buttons)

    @staticmethod
    def reference_html() -> str:
        parts = [
            "<h2>Layer reference</h2><p>Every building block of a network, what it computes "
            "and the settings it takes. Drag one from the palette onto the canvas.</p>"
        ]
        for t in LAYER_TYPES.values():
            parts.append(
                f"<h3>{html.escape(t.name)} <small>({html.escape(t.category)})</small></h3>"
                f"<p>{html.escape(t.summary)}</p>"
                f"<pre style='background:palette(alternate-base);padding:6px'>{html.escape(t.formula)}</pre>"
            )
            if t.params:
                rows = []
                for p in t.params:
                    allowed = (
                        ", ".join(p.choices)
                        if p.kind == "choice"
                        else "on / off"
                        if p.kind == "bool"
                        else f"{p.minimum:g} to {p.maximum:g}"
                        if p.minimum is not None and p.maximum is not None
                        else p.kind
                    )
                    rows.append(
                        f"<tr><td><b>{html.escape(p.title)}</b></td><td>{html.escape(allowed)}</td>"
                        f"<td>{html.escape(str(p.default))}</td><td>{html.escape(p.help)}</td></tr>"
                    )
                parts.append(
                    "<table border='0' cellspacing='0' cellpadding='3'><tr><th align='left'>Setting"
                    "</th><th align='left'>Allowed</th><th align='left'>Default</th>"
                    "<th align='left'>What it does</th></tr>" + "".join(rows) + "</table>"
                )
        return "".join(parts)
