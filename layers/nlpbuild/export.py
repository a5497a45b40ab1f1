"""Export the MiniLM encoder to ONNX with pooling and normalisation inside the graph.

Why a wrapper: the runtime must not carry torch or sentence-transformers, so mean pooling over the
attention mask and L2 normalisation live in the graph and the bundle outputs ``sentence_embedding``
directly. The legacy TorchScript exporter (``dynamo=False``) is used because exporting ``BertModel``
directly fails under transformers 5 and the dynamo graph runs slower (shared README).

torch/transformers are imported lazily so cached builds stay fast.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"]
EMBED_OUTPUT = "sentence_embedding"


def load_encoder(model_dir: Path, threads: int = 2):
    """The fp32 reference encoder: transformers BertModel wrapped with mean pooling + L2 norm."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    # eager attention: a plain graph of MatMul/Softmax that onnxruntime fuses and quantises well.
    bert = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager")

    class PooledEncoder(torch.nn.Module):
        """forward(input_ids, attention_mask, token_type_ids) -> mean-pooled, L2-normalised [batch, dim]."""

        def __init__(self, model):
            super().__init__()
            self.bert = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            summed = (hidden * mask).sum(dim=1)
            counts = mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(summed / counts, p=2.0, dim=1)

    return PooledEncoder(bert).eval()


def export_encoder(encoder, out_path: Path, opset: int = 17) -> Path:
    """Export the pooled encoder with dynamic batch and sequence axes."""
    import torch

    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.int64)
    mask = (ids != 0).to(torch.int64)
    types = torch.zeros_like(ids)
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}
    axes[EMBED_OUTPUT] = {0: "batch"}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings about data-dependent shapes are expected
        torch.onnx.export(encoder, (ids, mask, types), str(out_path), input_names=INPUT_NAMES,
                          output_names=[EMBED_OUTPUT], dynamic_axes=axes, opset_version=opset,
                          dynamo=False, do_constant_folding=True)
    return out_path


def torch_embed(encoder, tokenizer, texts: list[str], batch_size: int = 32) -> np.ndarray:
    """fp32 reference embeddings (same tokenisation as the runtime: truncation, dynamic padding)."""
    import torch

    from .parity import encode_batches

    out = np.zeros((len(texts), 384), dtype=np.float32)
    with torch.no_grad():
        for idx, feeds in encode_batches(tokenizer, texts, batch_size):
            emb = encoder(*(torch.from_numpy(feeds[k]) for k in INPUT_NAMES)).numpy()
            if out.shape[1] != emb.shape[1]:
                out = np.zeros((len(texts), emb.shape[1]), dtype=np.float32)
            out[idx] = emb
    return out
