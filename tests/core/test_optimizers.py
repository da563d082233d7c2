"""The optimizer table: what every reader of it relies on."""

from __future__ import annotations

import pytest

from nnviz.core.optimizers import OPTIMIZERS, optimizer
from nnviz.core.project import TrainingConfig


def test_every_optimizer_has_its_own_name_title_and_colour():
    assert len({o.title for o in OPTIMIZERS.values()}) == len(OPTIMIZERS)
    assert len({o.color for o in OPTIMIZERS.values()}) == len(OPTIMIZERS)
    for key, o in OPTIMIZERS.items():
        assert key == o.name and o.help and o.race_learning_rate > 0


def test_hyperparameters_it_uses_are_training_settings():
    fields = set(TrainingConfig.__dataclass_fields__)
    for o in OPTIMIZERS.values():
        assert set(o.hyperparams) <= fields, o.name
    assert optimizer("nesterov").optax_kwargs({"momentum": 0.5}) == {"nesterov": True, "momentum": 0.5}
    assert optimizer("adam").optax_kwargs({"momentum": 0.5}) == {}


def test_an_unknown_optimizer_is_named_with_the_known_ones():
    with pytest.raises(KeyError, match="unknown optimizer 'lion'.*adamw"):
        optimizer("lion")


def test_a_project_accepts_every_optimizer_in_the_table_and_no_other():
    for name in OPTIMIZERS:
        assert not [e for e in TrainingConfig(optimizer=name).validate() if "optimizer" in e]
    assert any("optimizer" in e for e in TrainingConfig(optimizer="lion").validate())
