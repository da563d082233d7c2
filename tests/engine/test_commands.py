"""Session commands: one enum, checked values, and members that cross a process boundary."""

from __future__ import annotations

import pickle
from multiprocessing.reduction import ForkingPickler

import pytest

from nnviz.engine.commands import Command, SessionCommand


@pytest.mark.parametrize("kind", list(SessionCommand))
def test_commands_pickle_as_themselves(kind):
    assert pickle.loads(ForkingPickler.dumps(("cmd", 1, kind, None)))[2] is kind
    assert pickle.loads(pickle.dumps(Command(kind, 3))) == Command(kind, 3)


def test_values_are_checked_before_anything_is_sent():
    assert SessionCommand.STEP.checked(3.0) == 3 and SessionCommand.STEP.checked() == 1
    assert SessionCommand.LEARNING_RATE.checked("0.5") == 0.5
    assert SessionCommand.SPEED.checked(None) is None and SessionCommand.SPEED.checked(4) == 4
    assert SessionCommand.PAUSE.checked("ignored") is None
    with pytest.raises(ValueError, match="at most 100"):
        SessionCommand.LEARNING_RATE.checked(500)
    with pytest.raises(ValueError, match="whole number"):
        SessionCommand.SPEED.checked(1.5)
