"""GlobalAveragePool2D, the proof that a layer type is one table entry: traits, shapes and messages."""

from __future__ import annotations

from nnviz.core.graph import Network, analyze
from nnviz.core.layers import LAYER_TYPES, Context, Role, layer_type


def gap_net(*before, after=(("Dense", {"units": 10, "activation": "softmax"}),)):
    return Network.chain("Input", *before, "GlobalAveragePool2D", *after, "Output")


def test_it_is_a_pooling_layer_without_weights_or_parameters():
    t = layer_type("GlobalAveragePool2D")
    assert t.role is Role.POOLING and t.reduce == "mean" and t.spatial
    assert not t.has_weights and not t.passes_through and t.activation_param is None
    assert t.params == () and t.defaults() == {} and t.card_text({}) == ""
    assert t.category == "Pooling" and t.icon == "globalaveragepool2d"
    assert "one value per channel" in t.tooltip()
    assert list(LAYER_TYPES).index("GlobalAveragePool2D") == list(LAYER_TYPES).index("AvgPool2D") + 1


def test_each_map_becomes_one_number_and_no_flatten_is_needed():
    net = gap_net(("Conv2D", {"filters": 6, "kernel_size": 3}))
    analysis = analyze(net, Context((28, 28, 1), 10, "mnist"))
    assert analysis.ok, analysis.messages(net)
    (gid,) = [n.id for n in net.nodes_of_type("GlobalAveragePool2D")]
    assert analysis.shapes[gid] == (6,)
    assert analysis.param_counts[gid] == 0
    # the Dense after it sees 6 inputs however large the image is: 6*10 + 10 weights
    (did,) = [n.id for n in net.nodes_of_type("Dense")]
    assert analysis.param_counts[did] == 70
    bigger = analyze(net, Context((64, 48, 1), 10, "big"))
    assert bigger.ok and bigger.param_counts[did] == 70


def test_a_flat_input_is_refused_with_a_message_on_the_node():
    net = gap_net("Flatten")
    analysis = analyze(net, Context((28, 28, 1), 10, "mnist"))
    assert not analysis.ok
    (gid,) = [n.id for n in net.nodes_of_type("GlobalAveragePool2D")]
    (message,) = analysis.problems_of(gid)
    assert "needs an image" in message and "784" in message and "before the Flatten" in message
