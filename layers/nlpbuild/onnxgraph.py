"""Small helpers shared by the ONNX graph rewrites (`simplify`, `quantize`)."""

from __future__ import annotations

from typing import Any


def index(graph: Any) -> tuple[list, dict[str, Any], dict[str, list]]:
    """(nodes in order, tensor name -> producing node, tensor name -> consuming nodes) of an onnx GraphProto."""
    nodes = list(graph.node)
    producers = {o: n for n in nodes for o in n.output}
    consumers: dict[str, list] = {}
    for n in nodes:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    return nodes, producers, consumers


def symbolic_dims(model: Any) -> dict[str, list]:
    """Every tensor's dimensions from onnxruntime's symbolic shape inference: a number, a symbol such as
    ``batch`` or ``sequence`` (equal symbols are equal at run time), or None when unknown."""
    from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

    inferred = SymbolicShapeInference.infer_shapes(model, auto_merge=True)
    return {v.name: [d.dim_param or d.dim_value or None for d in v.type.tensor_type.shape.dim]
            for v in list(inferred.graph.value_info) + list(inferred.graph.input)}
