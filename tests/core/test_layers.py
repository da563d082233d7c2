"""Layer types' traits: what the editor, the panels and the engine read instead of type names."""

from __future__ import annotations

import pytest

from nnviz.core.graph import Network
from nnviz.core.layers import (
    LAYER_TYPES,
    MERGES,
    REDUCTIONS,
    LayerType,
    Role,
    _register,
    layer_type,
)


def test_every_type_has_a_role_and_consistent_traits():
    for t in LAYER_TYPES.values():
        assert isinstance(t.role, Role), t.name
        assert t.has_weights == (t.role is Role.WEIGHTED), t.name
        assert (t.reduce in REDUCTIONS) == (t.role is Role.POOLING), t.name
        assert (t.merge in MERGES) == (t.role is Role.MERGE), t.name
        if t.activation_param:
            assert t.param(t.activation_param).kind == "choice", t.name
        assert t.passes_through == (t.role in (Role.RESHAPE, Role.ELEMENTWISE)), t.name


def test_roles_of_the_built_in_types():
    roles = {name: t.role for name, t in LAYER_TYPES.items()}
    assert roles["Input"] is Role.INPUT and roles["Output"] is Role.OUTPUT
    assert roles["Dense"] is roles["Conv2D"] is Role.WEIGHTED
    assert roles["MaxPool2D"] is roles["AvgPool2D"] is roles["GlobalAveragePool2D"] is Role.POOLING
    assert roles["Flatten"] is Role.RESHAPE
    assert roles["Activation"] is roles["Dropout"] is Role.ELEMENTWISE
    assert roles["Add"] is roles["Concatenate"] is Role.MERGE
    assert layer_type("MaxPool2D").reduce == "max" and layer_type("AvgPool2D").reduce == "mean"
    assert layer_type("Add").merge == "sum" and layer_type("Concatenate").merge == "concat"
    assert [n for n, t in LAYER_TYPES.items() if t.training_only] == ["Dropout"]


def test_activation_is_read_through_the_named_parameter():
    assert layer_type("Dense").activation({"activation": "tanh"}) == "tanh"
    assert layer_type("Activation").activation({"function": "sigmoid"}) == "sigmoid"
    assert layer_type("Flatten").activation({}) is None


@pytest.mark.parametrize(
    ("type_name", "params", "text"),
    [
        ("Dense", {"units": 128, "activation": "sigmoid"}, "128 · sigmoid"),
        ("Dense", {"units": 10, "activation": "leaky_relu"}, "10 · leaky ReLU"),
        (
            "Conv2D",
            {"filters": 16, "kernel_size": 3, "stride": 1, "padding": "same", "activation": "relu"},
            "16 3×3 s1 same · ReLU",
        ),
        ("MaxPool2D", {"window": 2, "stride": 2}, "2×2 s2"),
        ("AvgPool2D", {"window": 3, "stride": 1}, "3×3 s1"),
        ("Activation", {"function": "tanh"}, "tanh"),
        ("Dropout", {"rate": 0.25}, "rate 0.25"),
        ("Output", {"loss": "cross_entropy"}, "cross-entropy"),
        ("Output", {"loss": "mse"}, "MSE"),
        ("Flatten", {}, ""),
        ("Add", {}, ""),
        ("Input", {}, ""),
    ],
)
def test_card_text(type_name, params, text):
    assert layer_type(type_name).card_text(params) == text


def test_card_text_of_broken_parameters_says_so():
    assert layer_type("Dense").card_text({"units": 4}) == "check parameters"
    assert layer_type("Dropout").card_text({"rate": "lots"}) == "check parameters"


def test_card_text_of_defaults_is_never_broken():
    for t in LAYER_TYPES.values():
        assert t.card_text(t.defaults()) != "check parameters", t.name


def test_a_pooling_type_must_say_what_it_keeps():
    with pytest.raises(ValueError, match="pooling"):
        _register(LayerType("BadPool", "Pooling", "", "", (), lambda p, i, c: i[0], role=Role.POOLING))
    with pytest.raises(ValueError, match="merge"):
        _register(LayerType("BadMerge", "Merge", "", "", (), lambda p, i, c: i[0], role=Role.MERGE))
    assert "BadPool" not in LAYER_TYPES and "BadMerge" not in LAYER_TYPES


def test_nodes_and_their_roles():
    net = Network.chain("Input", "Flatten", ("Dense", {"units": 3}), "Output")
    inp, flat, dense, out = net.nodes.values()
    assert inp.role is Role.INPUT and dense.role is Role.WEIGHTED
    assert net.nodes_of_role(Role.OUTPUT) == [out]
    assert net.nodes_of_role(Role.POOLING) == []
    assert net.role_of(flat.id) is Role.RESHAPE and net.role_of("nope") is None
    assert net.layer_of(dense.id) is layer_type("Dense") and net.layer_of("nope") is None
    assert net.activation_of(dense.id) == "relu" and net.activation_of(flat.id) is None
    assert net.activation_of("nope") is None
    assert net.param_of(dense.id, "units") == 3 and net.param_of("nope", "units", 7) == 7
