"""Low-rank adapters (LoRA, Hu et al. 2021) on a BERT encoder's linear layers, and merging them back.

Fine-tuning all 22.7M MiniLM weights would mean committing ~90 MB per training run. A rank-r adapter on each
of the 6 linear layers of each transformer block (query, key, value, attention output, intermediate, output)
trains 0.66M numbers at r=16 (2.6 MB), and merging ``W + (alpha / r) * B @ A`` into the weights before export
costs nothing at run time: the served graph has the same shape and speed as the base encoder.

Adapter names are ``layer.{i}.{module}.A`` / ``.B`` with ``A`` [r, in] and ``B`` [out, r]; ``save`` /
``load`` use them as npz keys, with ``alpha`` and ``rank`` stored beside.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: (attribute path inside a BertLayer) of the adapted linear layers.
MODULES = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
           "intermediate.dense", "output.dense")


def _resolve(root, dotted: str):
    parent = root
    *path, last = dotted.split(".")
    for part in path:
        parent = getattr(parent, part)
    return parent, last


def attach(bert, rank: int, alpha: float, seed: int = 13) -> dict:
    """Wrap each adapted linear layer of ``bert`` (a transformers BertModel) in place; returns {name: module}.

    A is Kaiming-uniform initialised, B zero, so the wrapped model starts equal to the base one.
    """
    import torch

    class LoRALinear(torch.nn.Module):
        def __init__(self, base: torch.nn.Linear):
            super().__init__()
            self.base = base
            self.scale = alpha / rank
            self.A = torch.nn.Parameter(torch.empty(rank, base.in_features))
            torch.nn.init.kaiming_uniform_(self.A, a=5 ** 0.5)
            self.B = torch.nn.Parameter(torch.zeros(base.out_features, rank))

        def forward(self, x):
            return self.base(x) + (x @ self.A.T @ self.B.T) * self.scale

    torch.manual_seed(seed)
    wrapped = {}
    for i, layer in enumerate(bert.encoder.layer):
        for dotted in MODULES:
            parent, attr = _resolve(layer, dotted)
            module = LoRALinear(getattr(parent, attr))
            setattr(parent, attr, module)
            wrapped[f"layer.{i}.{dotted}"] = module
    return wrapped


def state(wrapped: dict, rank: int, alpha: float) -> dict[str, np.ndarray]:
    """The adapters as float32 arrays (npz-ready)."""
    out = {"rank": np.array(rank), "alpha": np.array(alpha, dtype=np.float32)}
    for name, module in wrapped.items():
        out[f"{name}.A"] = module.A.detach().numpy().astype(np.float32)
        out[f"{name}.B"] = module.B.detach().numpy().astype(np.float32)
    return out


def merge(bert, adapters: dict[str, np.ndarray]) -> int:
    """Add ``alpha / rank * B @ A`` to each adapted weight of a plain BertModel in place; returns layers merged.

    Raises ValueError when an adapter names a layer the model does not have or shapes disagree.
    """
    import torch

    rank, alpha = int(adapters["rank"]), float(adapters["alpha"])
    merged = 0
    for key in adapters:
        if not key.endswith(".A"):
            continue
        name = key[:-2]
        i, dotted = name.split(".", 2)[1], name.split(".", 2)[2]
        if int(i) >= len(bert.encoder.layer):
            raise ValueError(f"adapter {name} for a layer the encoder does not have")
        parent, attr = _resolve(bert.encoder.layer[int(i)], dotted)
        linear = getattr(parent, attr)
        delta = (alpha / rank) * adapters[f"{name}.B"] @ adapters[f"{name}.A"]
        if tuple(delta.shape) != tuple(linear.weight.shape):
            raise ValueError(f"adapter {name}: {delta.shape} does not fit weight {tuple(linear.weight.shape)}")
        with torch.no_grad():
            linear.weight += torch.from_numpy(delta.astype(np.float32))
        merged += 1
    return merged


def save(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write adapters (+ any extra arrays, e.g. the head) deterministically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def load(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `python -m nlpbuild train-sentiment` first")
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
