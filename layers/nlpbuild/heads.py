"""Linear classifier heads folded into the encoder graph.

A head is (coef [n_labels, dim], intercept [n_labels], labels). Folding it after pooling and
normalisation (MatMul + Add + Softmax) lets the runtime serve a classifier without scikit-learn:
``probabilities = softmax(emb @ coef.T + intercept)``, which is exactly sklearn's multinomial
LogisticRegression.predict_proba. The head stays fp32 (excluded from quantisation): it is tiny.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HEAD_NODE_PREFIX = "head/"


@dataclass
class LinearHead:
    coef: np.ndarray  # [n_labels, dim] float32
    intercept: np.ndarray  # [n_labels] float32
    labels: list[str]  # human-readable label per output index

    def predict_proba(self, emb: np.ndarray) -> np.ndarray:
        logits = emb.astype(np.float64) @ self.coef.T.astype(np.float64) + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)


def intent_label(cls: str, label_map: dict) -> str:
    """Human-readable name for a rag-intent-classifier class.

    ``classes_`` are strings: numeric ids ('0'..'150', '200') that label_map maps to names, and five
    routing intents that are already names (label_map maps those *names* to ids, the other way round).
    Mirrors the package's own ``_resolve_label_name``.
    """
    value = label_map.get(cls)
    if isinstance(value, str) and not value.lstrip("-").isdigit():
        return value
    return cls


def load_intent_head(models_dir: Path, head_file: str = "LogisticRegression.joblib"):
    """(LinearHead, sklearn estimator) from the rag-intent-classifier package's joblib files."""
    import joblib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # InconsistentVersionWarning: pickled with sklearn 1.5.0
        clf = joblib.load(models_dir / head_file)
        label_map = joblib.load(models_dir / "label_map.joblib")
    if getattr(clf, "coef_", None) is None or len(clf.classes_) != clf.coef_.shape[0]:
        raise ValueError(f"{head_file} is not a multinomial linear model with one row per class")
    labels = [intent_label(str(c), label_map) for c in clf.classes_]
    if len(set(labels)) != len(labels):
        raise ValueError("intent labels are not unique after mapping")
    head = LinearHead(clf.coef_.astype(np.float32), clf.intercept_.astype(np.float32), labels)
    return head, clf


def save_npz_head(path: Path, head: LinearHead) -> None:
    """Write a head deterministically (np.savez zips with fixed timestamps)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        np.savez(fh, coef=head.coef.astype(np.float32), intercept=head.intercept.astype(np.float32),
                 labels=np.array(head.labels))


def load_npz_head(path: Path) -> LinearHead:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run the nlpbuild training command that writes it (README, Local tools)")
    with np.load(path, allow_pickle=False) as z:
        return LinearHead(z["coef"].astype(np.float32), z["intercept"].astype(np.float32),
                          [str(x) for x in z["labels"]])


def fold_head(model_path: Path, out_path: Path, head: LinearHead, in_name: str = "sentence_embedding",
              out_name: str = "probabilities", activation: str = "softmax") -> list[str]:
    """Append MatMul(coef.T) + Add(intercept) + Softmax (or Sigmoid: independent per-label probabilities, for
    multi-label heads) to the graph; return the new node names."""
    if activation not in ("softmax", "sigmoid"):
        raise ValueError(f"activation must be softmax or sigmoid, got {activation!r}")
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(model_path))
    g = model.graph
    outs = [o for o in g.output if o.name == in_name]
    if not outs:
        raise ValueError(f"graph has no output {in_name!r}")
    g.initializer.extend([
        numpy_helper.from_array(np.ascontiguousarray(head.coef.T.astype(np.float32)), "head.weight"),
        numpy_helper.from_array(head.intercept.astype(np.float32), "head.bias"),
    ])
    names = [HEAD_NODE_PREFIX + n for n in ("MatMul", "Add", activation.capitalize())]
    last = helper.make_node("Softmax", ["head.logits"], [out_name], name=names[2], axis=-1) \
        if activation == "softmax" else helper.make_node("Sigmoid", ["head.logits"], [out_name], name=names[2])
    g.node.extend([
        helper.make_node("MatMul", [in_name, "head.weight"], ["head.matmul"], name=names[0]),
        helper.make_node("Add", ["head.matmul", "head.bias"], ["head.logits"], name=names[1]),
        last,
    ])
    g.output.remove(outs[0])
    g.output.append(helper.make_tensor_value_info(out_name, onnx.TensorProto.FLOAT,
                                                  ["batch", len(head.labels)]))
    onnx.checker.check_model(model)
    onnx.save(model, str(out_path))
    return names
