"""A spin box for one training setting, with the range and rules of its ``Setting``.

QSpinBox holds a C int (up to 2,147,483,647) and QDoubleSpinBox rounds to a fixed number
of decimals, so either would quietly change a value a project file may hold (a seed of
3,000,000,000, a learning rate of 0.000001). This box keeps the Python number itself: an
int of any size, a float exactly as typed. What it accepts is what
``Setting.problem`` accepts, the rule ``TrainingConfig.validate`` applies to files.

Typing is committed on Return or when the box loses focus. A number the setting refuses
is not taken: the box shows its value again and ``refused`` says why, in the words
validation uses. The arrows (and Up/Down, Page Up/Down, the wheel) step within the range.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QWidget

from ..core.settings import Setting


class NumberBox(QAbstractSpinBox):
    """Edits one int or float ``Setting``; ``valueChanged`` carries the Python number."""

    valueChanged = Signal(object)  # noqa: N815 - Qt's naming, as QSpinBox has it
    refused = Signal(str)  # a typed number the setting does not allow, and why

    def __init__(self, setting: Setting, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if setting.kind not in (int, float):
            raise ValueError(f"{setting.name} is not a number setting")
        self.setting = setting
        default = setting.minimum if setting.minimum is not None and not setting.above_minimum else 0
        if setting.problem(setting.kind(default)) is not None:  # a minimum that is excluded
            default = setting.step
        self._value = setting.kind(default)
        self.setKeyboardTracking(False)
        self.setAccelerated(True)
        self.setToolTip(f"{setting.help}\nAllowed: {setting.rule()}.")
        self.editingFinished.connect(self._on_editing_finished)
        self.lineEdit().setText(self.textFromValue(self._value))

    # ------------------------------------------------------------ the value

    def value(self) -> int | float:
        return self._value

    def setValue(self, value: int | float) -> None:  # noqa: N802 - Qt's name
        """Show ``value`` (ValueError when the setting does not allow it); valueChanged if it changed."""
        value = self._coerce(value)
        problem = self.setting.problem(value)
        if problem:
            raise ValueError(problem)
        changed = value != self._value or type(value) is not type(self._value)
        self._value = value
        self.lineEdit().setText(self.textFromValue(value))
        if changed:
            self.valueChanged.emit(value)

    def minimum(self) -> int | float | None:
        return self.setting.minimum

    def maximum(self) -> int | float | None:
        return self.setting.maximum

    def _coerce(self, value):
        if self.setting.kind is int and isinstance(value, float) and value.is_integer():
            return int(value)
        if self.setting.kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value

    # ------------------------------------------------------------ text

    def textFromValue(self, value: int | float) -> str:  # noqa: N802 - Qt's name
        if self.setting.special and value == self.setting.minimum:
            return self.setting.special
        if self.setting.kind is int:
            return str(value)
        # Every digit the float holds and no exponent: 0.000001, not 1e-06 or 0.00000.
        return format(Decimal(repr(float(value))), "f").replace(".", self.locale().decimalPoint())

    def valueFromText(self, text: str) -> int | float | None:  # noqa: N802 - Qt's name
        """The number ``text`` spells (None if it spells none); whether it is allowed is another matter."""
        text = text.strip()
        if self.setting.special and text == self.setting.special:
            return self.setting.minimum
        if self.setting.kind is int:
            try:
                # int() would also take "1_000": the "x" makes such text no number
                return int(text.replace(self.locale().groupSeparator(), "").replace("_", "x"))
            except ValueError:
                return None
        try:
            value = float(text.replace(self.locale().decimalPoint(), ".").replace("_", "x"))
        except ValueError:
            return None
        return value if math.isfinite(value) else None

    def validate(self, text: str, pos: int):
        """Acceptable: an allowed number. Intermediate: on the way to one, or a number out of range
        (taken no further than the commit, which refuses it with the reason). Invalid: anything else."""
        value = self.valueFromText(text)
        if value is not None:
            state = (
                QValidator.State.Acceptable
                if self.setting.problem(value) is None
                else QValidator.State.Intermediate
            )
        elif self._partial(text.strip()):
            state = QValidator.State.Intermediate
        else:
            state = QValidator.State.Invalid
        return state, text, pos

    def _partial(self, text: str) -> bool:
        """A prefix of a number: '', '-', '1e', '0.' (or the special text, begun)."""
        if self.setting.special and self.setting.special.startswith(text):
            return True
        if self.setting.kind is int:
            return text in ("", "-", "+")
        for tail in ("0", "1", "e0", "0e0"):
            try:
                float(text.replace(self.locale().decimalPoint(), ".") + tail)
                return True
            except ValueError:
                pass
        return False

    def fixup(self, text: str) -> str:
        return text  # nothing is corrected silently: the commit takes it or refuses it

    def _on_editing_finished(self) -> None:
        text = self.lineEdit().text()
        if text == self.textFromValue(self._value):
            return
        value = self.valueFromText(text)
        if value is None:  # a number too large for a float, say; an emptied box just goes back
            problem = self.setting.problem(text.strip()) if text.strip() else None
        else:
            problem = self.setting.problem(value)
        if value is None or problem:
            self.lineEdit().setText(self.textFromValue(self._value))
            if problem:
                self.refused.emit(problem[0].upper() + problem[1:] + ".")
            return
        self.setValue(value)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        """Wide enough for the longest value the setting allows (QAbstractSpinBox knows no values)."""
        hint = super().sizeHint()
        s = self.setting
        texts = [self.setting.special, "0.0001"]
        texts += [self.textFromValue(s.kind(b)) for b in (s.minimum, s.maximum) if b is not None]
        return QSize(
            hint.width() + max(self.fontMetrics().horizontalAdvance(t) for t in texts), hint.height()
        )

    # ------------------------------------------------------------ stepping

    def _stepped(self, steps: int) -> int | float | None:
        """The value ``steps`` arrow presses away, kept in range; None when there is nowhere to go."""
        s = self.setting
        if s.kind is int:
            value = self._value + steps * int(s.step)
        else:
            step = Decimal(repr(float(s.step)))
            if s.adaptive and self._value != 0:
                # one tenth of the value's decade, as QDoubleSpinBox's adaptive steps
                step = Decimal(1).scaleb(math.floor(math.log10(abs(self._value))) - 1)
            try:
                value = float(Decimal(repr(float(self._value))) + steps * step)
            except InvalidOperation:
                return None
        if s.minimum is not None and value < s.minimum:
            value = s.kind(s.minimum)
        if s.maximum is not None and value > s.maximum:
            value = s.kind(s.maximum)
        if value == self._value or s.problem(value) is not None:  # an excluded bound: stay
            return None
        return value

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt's name
        value = self._stepped(steps)
        if value is not None:
            self.setValue(value)
        self.selectAll()

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:  # noqa: N802 - Qt's name
        flags = QAbstractSpinBox.StepEnabledFlag.StepNone
        if self.isReadOnly():
            return flags
        if self._stepped(1) is not None:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
        if self._stepped(-1) is not None:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        return flags
