"""The fp32 graph simplification before quantisation (layers/nlpbuild/simplify.py) computes the same thing.

A small attention-shaped graph, laid out as the legacy exporter writes BERT (run-time head shapes from
Shape/Gather/Unsqueeze/Concat, three projections of one activation, a dead branch), goes through
`simplify_encoder` and then the int8 rewrite; outputs are compared on several batch shapes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from nlpbuild.quantize import per_row_activations, quantize_int8
from nlpbuild.simplify import simplify_encoder
from onnx import TensorProto, helper, numpy_helper

HIDDEN, HEADS = 8, 2


def _legacy_attention_graph(path: Path) -> Path:
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(a, n) for n, a in [
        ("wq", rng.normal(size=(HIDDEN, HIDDEN)).astype(np.float32)),
        ("wk", rng.normal(size=(HIDDEN, HIDDEN)).astype(np.float32)),
        ("wv", rng.normal(size=(HIDDEN, HIDDEN)).astype(np.float32)),
        ("bq", rng.normal(size=HIDDEN).astype(np.float32)),
        ("bk", rng.normal(size=HIDDEN).astype(np.float32)),
        ("bv", rng.normal(size=HIDDEN).astype(np.float32)),
        ("i0", np.array(0, np.int64)), ("i1", np.array(1, np.int64)), ("axes0", np.array([0], np.int64)),
        ("minus1", np.array([-1], np.int64)), ("head_dim", np.array([HIDDEN // HEADS], np.int64)),
        ("hidden", np.array([HIDDEN], np.int64)),
    ]]
    n = helper.make_node
    nodes = [
        n("Shape", ["x"], ["shape"]),
        n("Gather", ["shape", "i0"], ["batch"]), n("Gather", ["shape", "i1"], ["seq"]),
        n("Unsqueeze", ["batch", "axes0"], ["batch1"]), n("Unsqueeze", ["seq", "axes0"], ["seq1"]),
        n("Concat", ["batch1", "seq1", "minus1", "head_dim"], ["heads_shape"], axis=0),
        n("Concat", ["batch1", "seq1", "hidden"], ["merge_shape"], axis=0),
        n("Concat", ["batch1", "seq1"], ["unused_shape"], axis=0),  # dead: nobody reads it
    ]
    for p in "qkv":
        nodes += [n("MatMul", ["x", "w" + p], [p + "_mm"]), n("Add", ["b" + p, p + "_mm"], [p]),
                  n("Reshape", [p, "heads_shape"], [p + "_h"]),
                  n("Transpose", [p + "_h"], [p + "_t"], perm=[0, 2, 1, 3])]
    nodes += [
        n("Transpose", ["k_h"], ["k_tt"], perm=[0, 2, 3, 1]),
        n("MatMul", ["q_t", "k_tt"], ["scores"]), n("Softmax", ["scores"], ["attn"], axis=-1),
        n("MatMul", ["attn", "v_t"], ["ctx"]), n("Transpose", ["ctx"], ["ctx_t"], perm=[0, 2, 1, 3]),
        n("Reshape", ["ctx_t", "merge_shape"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "attention",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "sequence", HIDDEN])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "sequence", HIDDEN])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


SHAPES = [(1, 1), (1, 5), (3, 7), (4, 2)]


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    d = tmp_path_factory.mktemp("simplify")
    src = _legacy_attention_graph(d / "fp32.onnx")
    counts = simplify_encoder(src, d / "fp32_simplified.onnx")
    return src, d / "fp32_simplified.onnx", counts


def test_simplified_graph_has_static_shapes_one_projection_and_no_dead_nodes(graphs):
    src, simplified, counts = graphs
    # dead: Shape, 2 Gather, 2 Unsqueeze, 3 Concat once the shapes are static, and an unread Transpose
    assert counts == {"static_reshapes": 4, "packed_projections": 1, "dead_nodes": 9}
    ops = [n.op_type for n in onnx.load(str(simplified)).graph.node]
    assert ops.count("MatMul") == 1 + 2  # q/k/v packed into one; the two attention products stay
    assert "Concat" not in ops and "Shape" not in ops and "Unsqueeze" not in ops
    assert len(ops) < len(onnx.load(str(src)).graph.node) - 10


@pytest.mark.parametrize("shape", SHAPES)
def test_simplified_fp32_graph_computes_the_same(graphs, shape):
    src, simplified, _ = graphs
    x = np.random.default_rng(sum(shape)).normal(size=(*shape, HIDDEN)).astype(np.float32)
    np.testing.assert_allclose(_run(simplified, x), _run(src, x), rtol=1e-5, atol=1e-5)


def test_int8_of_the_simplified_graph_equals_int8_of_the_original(graphs, tmp_path):
    """Per-channel weight scales are per output column, so packing changes no quantised weight."""
    src, simplified, _ = graphs
    plain = per_row_activations(quantize_int8(src, tmp_path / "plain_int8.onnx"))
    packed = per_row_activations(quantize_int8(simplified, tmp_path / "packed_int8.onnx"))
    for shape in SHAPES:
        x = np.random.default_rng(sum(shape)).normal(size=(*shape, HIDDEN)).astype(np.float32)
        np.testing.assert_allclose(_run(packed, x), _run(plain, x), rtol=1e-5, atol=1e-5)


def test_int8_zero_point_is_shared_by_activations_of_one_shape(graphs, tmp_path):
    _, simplified, _ = graphs
    ops = [n.op_type for n in onnx.load(str(per_row_activations(
        quantize_int8(simplified, tmp_path / "int8.onnx")))).graph.node]
    assert ops.count("QuantizeLinear") == 1 and ops.count("Cast") == 1


def test_reshape_whose_leading_dims_differ_is_left_alone(tmp_path):
    """A Reshape of a tensor whose first axes are NOT the Shape source's keeps its run-time target."""
    n = helper.make_node
    inits = [numpy_helper.from_array(np.array(0, np.int64), "i0"),
             numpy_helper.from_array(np.array([0], np.int64), "axes0"),
             numpy_helper.from_array(np.array([-1], np.int64), "minus1")]
    nodes = [n("Shape", ["a"], ["shape"]), n("Gather", ["shape", "i0"], ["d0"]),
             n("Unsqueeze", ["d0", "axes0"], ["d0_1"]), n("Concat", ["d0_1", "minus1"], ["target"], axis=0),
             n("Reshape", ["b", "target"], ["y"])]
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["m", 6]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, ["n", 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["m", "k"])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(tmp_path / "g.onnx"))
    counts = simplify_encoder(tmp_path / "g.onnx", tmp_path / "g2.onnx")
    assert counts["static_reshapes"] == 0
    session = ort.InferenceSession(str(tmp_path / "g2.onnx"), providers=["CPUExecutionProvider"])
    a, b = np.zeros((2, 6), np.float32), np.arange(24, dtype=np.float32).reshape(4, 6)
    assert session.run(None, {"a": a, "b": b})[0].shape == (2, 12)


def test_graphs_it_does_not_handle_are_copied_unchanged(tmp_path):
    """Below opset 13 Split has no sizes input; control-flow subgraphs may read outer tensors."""
    src = _legacy_attention_graph(tmp_path / "fp32.onnx")
    old = onnx.load(str(src))
    old.opset_import[0].version = 11
    onnx.save(old, str(tmp_path / "opset11.onnx"))
    counts = simplify_encoder(tmp_path / "opset11.onnx", tmp_path / "out.onnx")
    assert counts["skipped"] == "ai.onnx opset 11 < 13" and counts["packed_projections"] == 0
    assert len(onnx.load(str(tmp_path / "out.onnx")).graph.node) == len(old.graph.node)
