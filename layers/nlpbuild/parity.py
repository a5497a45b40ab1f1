"""Run bundles the way the runtime does and compare them with their fp32 references.

Tokenisation mirrors nlpserve's Bundle: truncate to max_length, sort by length, pad each batch to its
longest row. The metrics here go into ``manifest.quality`` so every bundle carries measured numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def load_tokenizer(path: Path, max_length: int):
    """A tokenizers.Tokenizer with truncation at max_length and no padding (we pad per batch)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    tok.no_padding()
    tok.enable_truncation(max_length=max_length)
    return tok


def encode_batches(tokenizer, texts: list[str], batch_size: int = 32):
    """Yield (row indices, feeds) for length-sorted, dynamically padded batches."""
    encs = tokenizer.encode_batch(list(texts))
    order = sorted(range(len(texts)), key=lambda i: len(encs[i].ids))
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        width = max(len(encs[i].ids) for i in idx)
        ids = np.zeros((len(idx), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for r, i in enumerate(idx):
            e = encs[i]
            n = len(e.ids)
            ids[r, :n] = e.ids
            mask[r, :n] = e.attention_mask
            types[r, :n] = e.type_ids
        yield np.array(idx), {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def torch_batches(tokenizer, texts: list[str], batch: int, rng=None):
    """(row indices, input_ids, attention_mask, token_type_ids as torch tensors) in the runtime's length-sorted,
    dynamically padded batches (``encode_batches``); the batch order is shuffled when ``rng`` (a
    ``random.Random``) is given. For training and scoring torch encoders exactly as the runtime feeds ONNX."""
    import torch

    from .export import INPUT_NAMES

    chunks = list(encode_batches(tokenizer, texts, batch))
    if rng is not None:
        rng.shuffle(chunks)
    for idx, feeds in chunks:
        yield (idx, *(torch.from_numpy(feeds[k]) for k in INPUT_NAMES))


def session(model_path: Path, threads: int = 2):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(model_path), so, providers=["CPUExecutionProvider"])


def run_onnx(sess, tokenizer, texts: list[str], batch_size: int = 32) -> np.ndarray:
    """Run a pooled-output graph ([batch, k]) over texts; rows come back in input order."""
    out = None
    for idx, feeds in encode_batches(tokenizer, texts, batch_size):
        res = sess.run(None, feeds)[0]
        if out is None:
            out = np.zeros((len(texts), res.shape[1]), dtype=np.float32)
        out[idx] = res
    return out


def cosine_stats(a: np.ndarray, b: np.ndarray) -> dict:
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {"min": round(float(cos.min()), 4), "mean": round(float(cos.mean()), 4),
            "p01": round(float(np.quantile(cos, 0.01)), 4), "n": len(cos)}


def accuracy_macro_f1(y_true, y_pred, labels) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    return {"accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
            "macro_f1": round(float(f1_score(y_true, y_pred, labels=labels, average="macro",
                                             zero_division=0)), 4),
            "n": len(y_true)}
