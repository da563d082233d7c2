"""Layer types, the network graph, validation and shape inference (no JAX, no Qt)."""

import pytest

from nnviz.core.graph import Edge, GraphError, Network, analyze
from nnviz.core.layers import LAYER_TYPES, Context, layer_type, shape_text

MNIST = Context((28, 28, 1), 10, "MNIST")
TOY = Context((2,), 2, "circle")


def mlp(*hidden, act="sigmoid", out_act="softmax", loss="cross_entropy"):
    layers = ["Input", "Flatten"]
    layers += [("Dense", {"units": u, "activation": act}) for u in hidden]
    layers += [("Dense", {"units": 10, "activation": out_act}), ("Output", {"loss": loss})]
    return Network.chain(*layers)


def problems(net, ctx=MNIST):
    return analyze(net, ctx).messages(net)


def test_784_15_10_counts_11935():
    net = mlp(15, out_act="sigmoid", loss="mse")
    a = analyze(net, MNIST)
    assert a.ok, a.messages(net)
    assert a.total_params == 11_935
    dense = [n.id for n in net.nodes_of_type("Dense")]
    assert [a.param_counts[d] for d in dense] == [784 * 15 + 15, 15 * 10 + 10]


def test_every_type_has_explanation_formula_and_valid_defaults():
    for name, t in LAYER_TYPES.items():
        assert t.summary.endswith(".") and len(t.summary) > 20, name
        assert t.formula, name
        assert t.check_params(t.defaults()) == [], name
        assert name in t.tooltip()
        for p in t.params:
            assert p.help, (name, p.name)


def test_cnn_shapes_and_counts():
    net = Network.chain(
        "Input",
        ("Conv2D", {"filters": 8, "kernel_size": 3}),
        ("MaxPool2D", {}),
        ("Conv2D", {"filters": 16, "kernel_size": 3, "padding": "valid", "stride": 2}),
        ("AvgPool2D", {"window": 3, "stride": 1}),
        "Flatten",
        ("Dense", {"units": 10, "activation": "softmax"}),
        "Output",
    )
    a = analyze(net, MNIST)
    assert a.ok, a.messages(net)
    shapes = [a.shapes[n] for n in a.order]
    assert shapes == [(28, 28, 1), (28, 28, 8), (14, 14, 8), (6, 6, 16), (4, 4, 16), (256,), (10,), (10,)]
    assert a.total_params == (9 * 8 + 8) + (9 * 8 * 16 + 16) + (256 * 10 + 10)


def test_validation_reports_every_problem_at_once_naming_nodes():
    net = Network()
    inp = net.add_node("Input")
    conv = net.add_node("Conv2D", {"filters": 0})
    net.add_node("Dense")  # unconnected
    net.connect(inp.id, conv.id)
    msgs = problems(net)
    assert any("no Output" in m for m in msgs)
    assert any(m.startswith("conv2d_1 (Conv2D): filters must be at least 1") for m in msgs)
    assert any(m.startswith("dense_1 (Dense): has no input") for m in msgs)
    assert any("dense_1 (Dense): its output goes nowhere" in m for m in msgs)


def test_empty_network_and_missing_input():
    assert "empty" in problems(Network())[0]
    net = Network.chain(("Dense", {"units": 10}), "Output")
    assert any("no Input" in m for m in problems(net))


def test_conv_on_flat_vector_says_move_before_flatten():
    net = Network.chain("Input", "Flatten", ("Conv2D", {}), "Flatten", ("Dense", {"units": 10}), "Output")
    msgs = problems(net)
    assert len(msgs) == 1
    assert "conv2d_1 (Conv2D): Conv2D needs an image" in msgs[0] and "784" in msgs[0]


def test_dense_on_image_says_insert_flatten():
    net = Network.chain("Input", ("Dense", {"units": 10}), "Output")
    (msg,) = problems(net)
    assert "insert a Flatten" in msg and "28×28×1" in msg


def test_pool_window_larger_than_input():
    net = Network.chain(
        "Input",
        ("MaxPool2D", {"window": 8, "stride": 8}),
        ("MaxPool2D", {"window": 5, "stride": 1}),
        "Flatten",
        ("Dense", {"units": 10}),
        "Output",
    )
    (msg,) = problems(net)
    assert msg.startswith("max_pool2d_2 (MaxPool2D): window 5×5 is larger than its 3×3 input")


def test_valid_conv_kernel_larger_than_input():
    net = Network.chain(
        "Input",
        ("Conv2D", {"kernel_size": 11, "padding": "valid"}),
        ("Conv2D", {"kernel_size": 11, "padding": "valid"}),
        ("Conv2D", {"kernel_size": 11, "padding": "valid"}),
        "Flatten",
        ("Dense", {"units": 10}),
        "Output",
    )
    (msg,) = problems(net)
    assert "kernel 11×11 is larger than its 8×8 input" in msg


def test_output_units_must_match_classes():
    net = mlp(32)
    net.set_param(net.nodes_of_type("Dense")[-1].id, "units", 7)
    (msg,) = problems(net)
    assert "Output expects 10 values" in msg and "set the layer before it to 10 units" in msg
    # two classes may also use a single yes/no unit
    toy = Network.chain("Input", ("Dense", {"units": 1, "activation": "sigmoid"}), "Output")
    assert problems(toy, TOY) == []


def test_add_and_concatenate_shapes():
    net = Network()
    i = net.add_node("Input")
    a = net.add_node("Dense", {"units": 8})
    b = net.add_node("Dense", {"units": 4})
    add = net.add_node("Add")
    cat = net.add_node("Concatenate")
    d = net.add_node("Dense", {"units": 2})
    o = net.add_node("Output")
    for s, t in [(i, a), (i, b), (a, add), (b, add), (a, cat), (b, cat), (add, d), (cat, d)]:
        try:
            net.connect(s.id, t.id)
        except GraphError:
            pass
    net.connect(d.id, o.id)
    a_ = analyze(net, TOY)
    msgs = a_.messages(net)
    assert any("add_1 (Add): Add needs inputs of the same shape but gets 8 and 4" in m for m in msgs)
    assert a_.shapes[cat.id] == (12,)
    # Dense takes one input: the second edge into d was refused, so cat leads nowhere
    assert any("concatenate_1" in m and "goes nowhere" in m for m in msgs)


def test_a_merge_with_too_few_inputs_says_how_many_more_to_connect():
    # Found by tests/test_random_graphs.py: "needs at least 2 inputs but has 0" said
    # what was wrong but not what to do.
    net = Network.chain("Input", ("Dense", {"units": 2}), "Add", "Output")
    add = net.nodes_of_type("Add")[0]
    assert analyze(net, TOY).problems_of(add.id) == [
        "needs at least 2 inputs but has 1; connect 1 more layer into it (the branches it joins)"
    ]
    net.remove_node(net.inputs_of(add.id)[0])
    assert analyze(net, TOY).problems_of(add.id) == [
        "needs at least 2 inputs but has 0; connect 2 more layers into it (the branches it joins)"
    ]


def test_concatenate_images_along_channels():
    net = Network()
    i = net.add_node("Input")
    c1 = net.add_node("Conv2D", {"filters": 4})
    c2 = net.add_node("Conv2D", {"filters": 6})
    cat = net.add_node("Concatenate")
    rest = [net.add_node("Flatten"), net.add_node("Dense", {"units": 10}), net.add_node("Output")]
    for s, t in [
        (i, c1),
        (i, c2),
        (c1, cat),
        (c2, cat),
        (cat, rest[0]),
        (rest[0], rest[1]),
        (rest[1], rest[2]),
    ]:
        net.connect(s.id, t.id)
    a = analyze(net, MNIST)
    assert a.ok and a.shapes[cat.id] == (28, 28, 10)


def test_connect_refuses_self_loops_duplicates_and_wrong_ends():
    net = Network.chain("Input", ("Dense", {}), ("Activation", {}), ("Dense", {"units": 10}), "Output")
    ids = list(net.nodes)
    with pytest.raises(GraphError, match="takes only one input"):
        net.connect(ids[2], ids[1])
    with pytest.raises(GraphError, match="itself"):
        net.connect(ids[1], ids[1])
    with pytest.raises(GraphError, match="already connected"):
        net.connect(ids[0], ids[1])
    with pytest.raises(GraphError, match="nothing can come after the loss"):
        net.connect(ids[4], ids[1])
    with pytest.raises(GraphError, match="takes data from the dataset"):
        net.connect(ids[1], ids[0])
    assert len(net.edges) == 4


def test_connect_refuses_real_cycle_through_merge():
    net = Network()
    a = net.add_node("Add")
    d = net.add_node("Dense")
    net.connect(a.id, d.id)
    with pytest.raises(GraphError, match="would make a cycle"):
        net.connect(d.id, a.id)
    assert net.edges == [Edge(a.id, d.id)]


def test_cycle_in_hand_edited_data_is_reported():
    net = Network()
    a = net.add_node("Add")
    b = net.add_node("Add")
    net.edges += [Edge(a.id, b.id), Edge(b.id, a.id)]  # bypasses connect(), as a hand-edited file could
    assert any("cycle" in m for m in problems(net))


def test_set_param_checks_and_coerces():
    net = Network.chain("Input", ("Dense", {}), "Output")
    d = net.nodes_of_type("Dense")[0]
    net.set_param(d.id, "units", 32.0)
    assert d.params["units"] == 32 and isinstance(d.params["units"], int)
    with pytest.raises(GraphError, match="units must be at least 1"):
        net.set_param(d.id, "units", 0)
    with pytest.raises(GraphError, match="activation must be one of"):
        net.set_param(d.id, "activation", "swish")
    with pytest.raises(KeyError):
        net.set_param(d.id, "nope", 1)


def test_listeners_hear_every_edit_and_remove_restores_edges():
    net = Network.chain("Input", ("Dense", {"units": 10}), "Output")
    events = []
    net.add_listener(lambda ev, payload: events.append(ev))
    d = net.nodes_of_type("Dense")[0]
    node, edges = net.remove_node(d.id)
    assert events == ["edge_removed", "edge_removed", "node_removed"]
    assert net.edges == []
    net.add_node(node.type, node.params, node.position, node_id=node.id, name=node.name)
    for e in edges:
        net.connect(e.source, e.target)
    assert analyze(net, Context((2,), 10)).ok
    net.move_node(d.id, (5, 6))
    assert events[-1] == "node_moved" and net.nodes[d.id].position == (5.0, 6.0)


def test_concatenate_keeps_input_order_on_reconnect():
    net = Network()
    i, a, b, c = (net.add_node(t) for t in ("Input", "Dense", "Dense", "Concatenate"))
    for s, t in [(i, a), (i, b), (a, c), (b, c)]:
        net.connect(s.id, t.id)
    idx = net.disconnect(a.id, c.id)
    assert idx == 0 and net.inputs_of(c.id) == [b.id]
    net.connect(a.id, c.id, index=idx)
    assert net.inputs_of(c.id) == [a.id, b.id]


def test_round_trip_plain_data_and_bad_data():
    net = mlp(32, 16)
    again = Network.from_dict(net.to_dict())
    assert again.to_dict() == net.to_dict()
    with pytest.raises(GraphError, match="unknown type 'Dense3D'"):
        Network.from_dict({"nodes": [{"id": "a", "type": "Dense3D"}], "edges": []})
    with pytest.raises(GraphError, match="position"):
        Network.from_dict({"nodes": [{"id": "a", "type": "Dense", "position": "x"}], "edges": []})
    with pytest.raises(GraphError, match="edge #1"):
        Network.from_dict(
            {"nodes": [{"id": "a", "type": "Dense"}], "edges": [{"source": "a", "target": "b"}]}
        )


def test_node_ids_are_uuid_hex_and_names_unique():
    net = mlp(8, 8)
    assert all(len(n) == 32 and int(n, 16) >= 0 for n in net.nodes)
    names = [n.name for n in net.nodes.values()]
    assert len(set(names)) == len(names)
    assert "dense_3" in names


def test_shape_text():
    assert shape_text((28, 28, 1)) == "28×28×1"
    assert shape_text((784,)) == "784"
    assert shape_text(None) == "?"
    assert layer_type("MaxPool2D").param("window").default == 2


def test_dropout_right_before_output_is_refused_with_advice():
    net = Network.chain("Input", ("Dense", {"units": 2, "activation": "softmax"}), ("Dropout", {}), "Output")
    (msg,) = problems(net, TOY)
    assert (
        msg.startswith("dropout_1 (Dropout): a Dropout right before the Output")
        and "before the last layer" in msg
    )


def test_auto_layout_puts_every_edge_left_to_right_and_output_last():
    from nnviz.core.layout import auto_layout
    from nnviz.core.presets import load_preset

    net = load_preset("residual-circle").network
    pos = auto_layout(net)
    assert set(pos) == set(net.nodes)
    for e in net.edges:
        assert pos[e.source][0] < pos[e.target][0]
    out = net.nodes_of_type("Output")[0].id
    assert pos[out][0] == max(x for x, _ in pos.values())
    assert len(set(pos.values())) == len(pos)  # no two nodes on the same spot
