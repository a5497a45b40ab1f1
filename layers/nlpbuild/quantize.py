"""Dynamic int8 quantisation with onnxruntime.

Findings behind the defaults (shared README, re-measured for this builder; see the report in
``recipes.py``): signed QInt8 with per-channel weight scales; QUInt8 is ~2x slower and
``reduce_range`` wrecks accuracy. The residual error concentrates in the FFN MatMuls, so recipes may
keep a chosen set of MatMuls in fp32 (``keep_fp32``) to trade speed for accuracy.

Batch invariance: plain ``quantize_dynamic`` emits DynamicQuantizeLinear, which computes ONE activation
scale over the whole [batch, seq, hidden] tensor, so a text's output depends on its batch mates (up to
0.17 probability on the sentiment head, ~3 % label flips alone vs batch of 32).
``per_row_activations`` rewrites every DynamicQuantizeLinear into a per-token symmetric quantiser (scale =
max|x| / 127 per row, uint8 with zero point 128, one blocked QuantizeLinear): each token is quantised from
its own values only, so outputs are the same whether a text runs alone or in any batch (up to float
rounding, ~1e-7: kernels sum in an order that depends on the batch shape), and are closer to
fp32 than per-tensor.
"""

from __future__ import annotations

import re
from pathlib import Path

# Node names produced by the legacy exporter for the wrapped BertModel ("/bert/encoder/layer.N/...").
FFN_DOWN = r"/bert/encoder/layer\.\d+/output/dense/MatMul"
FFN_UP = r"/bert/encoder/layer\.\d+/intermediate/dense/MatMul"


def matmul_names(model_path: Path, patterns: list[str]) -> list[str]:
    """Names of MatMul nodes that fully match any of the regex patterns."""
    import onnx

    model = onnx.load(str(model_path), load_external_data=False)
    rx = [re.compile(p) for p in patterns]
    return [n.name for n in model.graph.node
            if n.op_type == "MatMul" and any(r.fullmatch(n.name) for r in rx)]


def quantize_int8(src: Path, dst: Path, exclude: list[str] | None = None, per_channel: bool = True) -> Path:
    """QInt8 dynamic quantisation; ``exclude`` = node names kept in fp32. Output is deterministic."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # quantize_dynamic logs a "consider pre-processing" hint on the root logger; not useful here.
    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=per_channel,
                     nodes_to_exclude=list(exclude or []),
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    # Strip free-text metadata that could vary between tool versions or runs.
    model = onnx.load(str(dst))
    model.doc_string = ""
    model.graph.doc_string = ""
    onnx.save(model, str(dst))
    return dst


def _leading_dims(model) -> dict[str, tuple]:
    """Every tensor's shape without its last axis, where every leading dimension is a number or a symbol
    (``batch``, ``sequence``): two tensors with the same entry have the same shape at run time."""
    from .onnxgraph import symbolic_dims

    return {name: tuple(d[:-1]) for name, d in symbolic_dims(model).items() if d and all(d)}


#: ai.onnx opset of the rewritten graph: QuantizeLinear gained blocked scales (``block_size``) in opset 21.
ROW_OPSET = 21


def per_row_activations(path: Path) -> Path:
    """Rewrite a quantize_dynamic graph in place so activations are quantised per row (per token).

    quantize_dynamic emits, per quantised MatMul:
        DynamicQuantizeLinear(x) -> (q, a_scale, a_zp);  MatMulInteger(q, Wq, a_zp, w_zp) -> Cast ->
        Mul(., Mul(a_scale, w_scale)) [-> Add(bias)]
    This becomes, with K = the reduced (hidden) size of x:
        a_scale = max(ReduceMax(|x|, last axis), eps) / 127                           # [batch, seq, 1]
        q = QuantizeLinear(x, a_scale, zp, axis=-1, block_size=K)                    # uint8, one fused pass
        MatMulIntegerToFloat(q, Wq, 1.0, w_scale, 128, w_zp) * a_scale   [-> the same Add(bias)]
    zp is a uint8 tensor of 128s shaped like a_scale, built once per distinct activation shape (onnxruntime's
    symbolic shape inference: every [batch, sequence, *] activation shares one) instead of three nodes per
    activation. Symmetric (zero point 128, |q - 128| <= 127), so every token is quantised from its own values only:
    outputs are the same (up to float rounding, ~1e-7) whether a text runs alone or in any batch, and closer
    to fp32 than per-tensor.

    The graph is converted to ai.onnx opset 21 first: one blocked QuantizeLinear (block = the whole row)
    replaces the Mul, Round, Add and Cast of the first version of this rewrite, which cost ~20 % of the
    model's time (measured 2026-11-30, embed, 1,000 mixed texts, 2 threads, AVX2: 100 -> 126 texts/s). The fused op is built explicitly with a SCALAR a_scale: onnxruntime's
    MatMulIntegerToFloatFusion does not check that a_scale is a scalar and silently produces wrong outputs
    if a per-row scale is left in the Cast -> Mul(Mul(a_scale, b_scale)) pattern.

    Raises ValueError when the graph is not a quantize_dynamic output.
    """
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper, version_converter

    from .onnxgraph import index

    model = onnx.load(str(path))
    row_shapes = _leading_dims(model)  # before the opset conversion, which this inference does not follow
    domain_opset = {o.domain: o.version for o in model.opset_import}
    if domain_opset.get("", domain_opset.get("ai.onnx", 0)) < ROW_OPSET:
        model = version_converter.convert_version(model, ROW_OPSET)
    g = model.graph
    nodes, prod, cons = index(g)
    weights = {t.name: t for t in g.initializer}
    g.initializer.extend([numpy_helper.from_array(np.array(v, dt), name) for name, v, dt in (
        ("rowq/inv127", 1.0 / 127.0, np.float32), ("rowq/eps", 1e-8, np.float32), ("rowq/zero", 0.0, np.float32),
        ("rowq/c128", 128.0, np.float32), ("rowq/one", 1.0, np.float32), ("rowq/zp128", 128, np.uint8),
        ("rowq/last_axis", [-1], np.int64))])
    zero_points: dict[tuple, str] = {}  # activation shape without its last axis -> uint8 zero-point tensor
    drop, out, n_mm = set(), [], 0
    for position, n in enumerate(nodes):
        node_name = n.name or f"node{position}"  # exported names may be empty; new names must be unique
        if n.op_type == "DynamicQuantizeLinear":
            x, (q, scale, _zp) = n.input[0], n.output
            mms = [c for c in cons.get(q, []) if c.op_type == "MatMulInteger"]
            if not mms or mms[0].input[1] not in weights:
                raise ValueError(f"{n.name}: quantised activation does not feed a MatMulInteger with constant weights")
            k = int(weights[mms[0].input[1]].dims[0])
            p = node_name + "/rowq/"
            out += [
                helper.make_node("Abs", [x], [p + "abs"], name=p + "Abs"),
                helper.make_node("ReduceMax", [p + "abs", "rowq/last_axis"], [p + "amax"], name=p + "ReduceMax",
                                 keepdims=1),
                helper.make_node("Max", [p + "amax", "rowq/eps"], [p + "amax_eps"], name=p + "Max"),
                helper.make_node("Mul", [p + "amax_eps", "rowq/inv127"], [scale], name=p + "Scale"),
            ]
            # Blocked QuantizeLinear wants a zero point shaped like the scale: 128s shaped [batch, seq, 1], built
            # once per distinct leading shape (symbolic shape inference) and shared by every activation of it.
            key = row_shapes.get(x) or (x,)
            if key not in zero_points:
                zero_points[key] = p + "zp"
                out += [
                    helper.make_node("Mul", [scale, "rowq/zero"], [p + "z"], name=p + "ZeroLike"),
                    helper.make_node("Add", [p + "z", "rowq/c128"], [p + "z128"], name=p + "Zp"),
                    helper.make_node("Cast", [p + "z128"], [p + "zp"], name=p + "ZpCast", to=TensorProto.UINT8),
                ]
            out.append(helper.make_node("QuantizeLinear", [x, scale, zero_points[key]], [q],
                                        name=p + "QuantizeLinear", axis=-1, block_size=k))
            continue
        if n.op_type == "MatMulInteger":
            a, w, a_zp, w_zp = n.input
            (cast,) = cons[n.output[0]]
            (mul,) = cons[cast.output[0]]
            scales = prod[next(i for i in mul.input if i != cast.output[0])]
            if cast.op_type != "Cast" or mul.op_type != "Mul" or scales.op_type != "Mul" \
                    or prod[a].op_type != "DynamicQuantizeLinear" or a_zp != prod[a].output[2]:
                raise ValueError(f"unexpected quantize_dynamic pattern after {n.name}")
            a_scale, w_scale = scales.input
            drop.update([id(cast), id(mul), id(scales)])
            fused = node_name + "/rowq"
            out += [helper.make_node("MatMulIntegerToFloat", [a, w, "rowq/one", w_scale, "rowq/zp128", w_zp],
                                     [fused], name=fused, domain="com.microsoft"),
                    helper.make_node("Mul", [fused, a_scale], list(mul.output), name=fused + "/a_scale")]
            n_mm += 1
            continue
        out.append(n)
    out = [n for n in out if id(n) not in drop]
    if n_mm == 0:
        raise ValueError("no MatMulInteger found: is this a quantize_dynamic graph?")
    del g.node[:]
    g.node.extend(out)
    # The scales are now [batch, seq, 1]; drop the stale scalar shape annotations.
    stale = {n.output[1] for n in nodes if n.op_type == "DynamicQuantizeLinear"}
    keep = [v for v in g.value_info if v.name not in stale]
    del g.value_info[:]
    g.value_info.extend(keep)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
