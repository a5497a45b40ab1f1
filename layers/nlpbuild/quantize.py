"""Dynamic int8 quantisation with onnxruntime.

Findings behind the defaults (shared README, re-measured for this builder; see the report in
``recipes.py``): signed QInt8 with per-channel weight scales; QUInt8 is ~2x slower and
``reduce_range`` wrecks accuracy. The residual error concentrates in the FFN MatMuls, so recipes may
keep a chosen set of MatMuls in fp32 (``keep_fp32``) to trade speed for accuracy.
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
