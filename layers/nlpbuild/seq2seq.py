"""Export an encoder-decoder (seq2seq) model -- Marian (opus-mt) or the T5 family -- to two ONNX graphs that the
runtime decodes with a key/value cache in numpy + onnxruntime (``nlpserve.runtime.generate``), with no torch at
run time. Written with the legacy TorchScript exporter (``dynamo=False``), as the other bundles are:

* ``prefill.onnx``: the encoder and every decoder layer's cross-attention projections. ``input_ids``,
  ``attention_mask`` [batch, source] -> ``cross.i.key`` / ``cross.i.value`` [batch, heads, source, head_dim] per
  decoder layer i (the encoder states are only ever read through these);
* ``decoder_with_past.onnx``: every decoder step, the first one too (with an empty self-attention cache).
  ``decoder_input_ids`` [batch, 1], ``encoder_attention_mask`` and ``past.i.self_key`` / ``self_value``
  [batch, heads, past, head_dim] / ``cross_key`` / ``cross_value`` -> ``logits`` [batch, 1, vocab] and the grown
  ``present.i.self_key`` / ``self_value``.

Two graphs rather than Optimum's three (encoder / decoder / decoder with past), and the LM head in one of them: the
shared embedding and the LM head (each about 30 M parameters in an opus-mt pair) are stored once each, not two or
three times. At opus-mt en-de's shape (74.4 M parameters) the int8 graphs are 52.5 + 82.9 MB.

The wrappers rebuild a transformers ``EncoderDecoderCache`` from the flat tensors, so any model whose generation
uses that cache (Marian, T5) exports the same way. ``torch_generate`` is the reference:
tests/functional/test_seq2seq.py checks that the runtime's greedy and beam decoders over these graphs reproduce its
tokens exactly (int8 quantisation, the bundle manifest and the tasks are the next steps of issue 11).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

OPSET = 17
PREFILL, DECODER_WITH_PAST = "prefill.onnx", "decoder_with_past.onnx"
CACHE_PARTS = ("self_key", "self_value", "cross_key", "cross_value")


@dataclass(frozen=True)
class Architecture:
    """What the runtime needs to know about the model to decode it (goes into the bundle manifest)."""

    family: str  # the transformers model_type: "marian", "t5", ...
    decoder_layers: int
    d_model: int
    vocab_size: int
    pad_token_id: int
    eos_token_id: int
    decoder_start_token_id: int
    forced_eos_token_id: int | None
    max_source_positions: int | None  # learned/sinusoidal position tables cap the source length; T5 has none

    def manifest(self) -> dict[str, Any]:
        return dict(self.__dict__)


def architecture(model) -> Architecture:
    """The decoding facts of a transformers seq2seq model (``model.config`` and its generation config)."""
    cfg, gen = model.config, model.generation_config
    layers = getattr(cfg, "decoder_layers", None) or getattr(cfg, "num_decoder_layers", None) or cfg.num_layers
    start = gen.decoder_start_token_id if gen.decoder_start_token_id is not None else cfg.decoder_start_token_id
    eos = gen.eos_token_id if gen.eos_token_id is not None else cfg.eos_token_id
    if isinstance(eos, list):
        eos = eos[0]
    return Architecture(
        family=cfg.model_type, decoder_layers=int(layers), d_model=int(cfg.d_model), vocab_size=int(cfg.vocab_size),
        pad_token_id=int(cfg.pad_token_id), eos_token_id=int(eos), decoder_start_token_id=int(start),
        forced_eos_token_id=getattr(gen, "forced_eos_token_id", None),
        max_source_positions=getattr(cfg, "max_position_embeddings", None),
    )


def _names(prefix: str, layers: int, parts=CACHE_PARTS) -> list[str]:
    return [f"{prefix}.{i}.{p}" for i in range(layers) for p in parts]


def export(model, out_dir: Path, opset: int = OPSET) -> Architecture:
    """Write the two fp32 graphs of ``model`` (a transformers seq2seq model in eval mode) to ``out_dir``.

    Raises TypeError when the model's forward does not return an ``EncoderDecoderCache`` (a model family whose
    generation does not use it cannot be decoded by the runtime)."""
    import torch
    from transformers.cache_utils import DynamicCache, EncoderDecoderCache

    arch = architecture(model)
    layers = arch.decoder_layers
    out_dir.mkdir(parents=True, exist_ok=True)

    def flat(cache, parts) -> list:
        if not isinstance(cache, EncoderDecoderCache):
            raise TypeError(f"{arch.family}: generation does not use an EncoderDecoderCache ({type(cache)})")
        out = []
        for i in range(layers):
            self_layer, cross_layer = cache.self_attention_cache.layers[i], cache.cross_attention_cache.layers[i]
            tensors = {"self_key": self_layer.keys, "self_value": self_layer.values,
                       "cross_key": cross_layer.keys, "cross_value": cross_layer.values}
            out += [tensors[p] for p in parts]
        return out

    class Prefill(torch.nn.Module):
        """Encoder + the cross-attention keys/values of every decoder layer. A first decoder step computes them;
        only they are outputs, so the exporter drops the rest of that step (embedding, self-attention, LM head)."""

        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            hidden = self.model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            start = input_ids[:, :1] * 0 + arch.decoder_start_token_id
            out = self.model(decoder_input_ids=start, encoder_outputs=(hidden,), attention_mask=attention_mask,
                             use_cache=True)
            return tuple(flat(out.past_key_values, ("cross_key", "cross_value")))

    class NextStep(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, decoder_input_ids, encoder_attention_mask, *past):
            cache = EncoderDecoderCache(
                DynamicCache([(past[4 * i], past[4 * i + 1]) for i in range(layers)]),
                DynamicCache([(past[4 * i + 2], past[4 * i + 3]) for i in range(layers)]))
            # the cross-attention keys/values are cached, so the encoder states are never read: a stand-in of
            # the right shape keeps the model's shape logic happy
            stand_in = past[2].new_zeros((past[2].shape[0], past[2].shape[2], arch.d_model))
            out = self.model(decoder_input_ids=decoder_input_ids, encoder_outputs=(stand_in,),
                             attention_mask=encoder_attention_mask, past_key_values=cache, use_cache=True)
            return (out.logits, *flat(out.past_key_values, ("self_key", "self_value")))

    # wrappers in eval mode: torch.onnx.export restores each wrapper's own mode afterwards, recursively, and a
    # wrapper left in training mode would switch the model's dropout on
    prefill, next_step = Prefill().eval(), NextStep().eval()
    ids = torch.tensor([[5, 6, 7, arch.eos_token_id], [8, arch.eos_token_id, arch.pad_token_id, arch.pad_token_id]])
    ids = ids.clamp(max=arch.vocab_size - 1)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    batch_source = {0: "batch", 1: "source"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cross = _names("cross", layers, ("key", "value"))
        torch.onnx.export(prefill, (ids, mask), str(out_dir / PREFILL), input_names=["input_ids", "attention_mask"],
                          output_names=cross, opset_version=opset, dynamo=False,
                          dynamic_axes={"input_ids": batch_source, "attention_mask": batch_source,
                                        **{n: {0: "batch", 2: "source"} for n in cross}})
        cross_kv = prefill(ids, mask)
        heads_dim = cross_kv[0].shape
        one = cross_kv[0].new_zeros((2, heads_dim[1], 1, heads_dim[3]))  # a one-token self cache as the example
        past = [t for i in range(layers) for t in (one, one, cross_kv[2 * i], cross_kv[2 * i + 1])]
        past_names = _names("past", layers)
        grown = _names("present", layers, ("self_key", "self_value"))
        torch.onnx.export(next_step, (torch.full((2, 1), arch.decoder_start_token_id), mask, *past),
                          str(out_dir / DECODER_WITH_PAST),
                          input_names=["decoder_input_ids", "encoder_attention_mask", *past_names],
                          output_names=["logits", *grown], opset_version=opset, dynamo=False,
                          dynamic_axes={"decoder_input_ids": {0: "batch"}, "encoder_attention_mask": batch_source,
                                        "logits": {0: "batch"},
                                        **{n: {0: "batch", 2: "source" if "cross" in n else "past"}
                                           for n in past_names},
                                        **{n: {0: "batch", 2: "target"} for n in grown}})
    model.eval()
    return arch


def torch_generate(model, input_ids: np.ndarray, attention_mask: np.ndarray, **kwargs) -> list[list[int]]:
    """``model.generate`` on token ids (the reference for parity), without the decoder start token."""
    import torch

    with torch.no_grad():
        out = model.generate(input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(attention_mask),
                             do_sample=False, **kwargs)
    return [row[1:] for row in out.tolist()]


def tie_quantized_embedding(path: Path) -> int:
    """In an int8 ``decoder_with_past.onnx`` whose model ties the decoder's input embedding to its LM head (Marian,
    t5-small: one [vocab, d_model] matrix), read the embedding of each step's token from the LM head's int8 weight
    instead of keeping a second quantised copy for the Gather: ``Gather(W_int8 [d, vocab], ids, axis=1)`` times that
    column's per-channel scale. Saves vocab x d_model bytes (29.7 MB at opus-mt's shape), and the embedding is then
    quantised per token rather than per tensor. Returns the bytes saved (0: the graph has no such pair, or the LM
    head's quantisation is not symmetric per-channel, and is left as it was).

    Call only when the model's input and output embeddings are the same matrix (``embeddings_tied``)."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    users: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    gather = next((n for n in graph.node if n.op_type == "Gather" and n.input[1] == "decoder_input_ids"
                   and n.input[0] in inits), None)
    head = next((n for n in graph.node if n.op_type == "MatMulInteger" and n.input[1] in inits
                 and len(inits[n.input[1]].dims) == 2 and gather is not None
                 and list(inits[n.input[1]].dims) == list(reversed(inits[gather.input[0]].dims))), None)
    if gather is None or head is None or len(users.get(gather.output[0], [])) != 1:
        return 0
    dequantize = users[gather.output[0]][0]
    weight = head.input[1]
    zero_point = head.input[3] if len(head.input) > 3 else ""
    scale = weight.removesuffix("_quantized") + "_scale"
    if (dequantize.op_type != "DequantizeLinear" or scale not in inits or list(inits[scale].dims) != [inits[weight].dims[1]]
            or (zero_point and numpy_helper.to_array(inits[zero_point]).any())):
        return 0
    embedding = gather.input[0]
    out = dequantize.output[0]
    nodes = [
        helper.make_node("Gather", [weight, "decoder_input_ids"], [out + "/tied_columns"], axis=1),  # [d, B, 1]
        helper.make_node("Cast", [out + "/tied_columns"], [out + "/tied_float"], to=onnx.TensorProto.FLOAT),
        helper.make_node("Transpose", [out + "/tied_float"], [out + "/tied_rows"], perm=[1, 2, 0]),  # [B, 1, d]
        helper.make_node("Gather", [scale, "decoder_input_ids"], [out + "/tied_scale"], axis=0),  # [B, 1]
        helper.make_node("Unsqueeze", [out + "/tied_scale", out + "/tied_axes"], [out + "/tied_scale3"]),
        helper.make_node("Mul", [out + "/tied_rows", out + "/tied_scale3"], [out]),
    ]
    graph.initializer.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), out + "/tied_axes"))
    at = list(graph.node).index(gather)
    kept = [n for n in graph.node if n is not gather and n is not dequantize]
    del graph.node[:]
    graph.node.extend(kept[:at] + nodes + kept[at:])
    saved = 0
    for name in (embedding, *dequantize.input[1:]):
        if name in inits and not any(name in n.input for n in graph.node):
            saved += len(inits[name].raw_data) or inits[name].ByteSize()
            graph.initializer.remove(inits[name])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return saved


def embeddings_tied(model) -> bool:
    """True when the decoder's input embedding and the LM head are one matrix (``tie_word_embeddings``)."""
    try:
        out, inp = model.get_output_embeddings(), model.get_decoder().embed_tokens
    except AttributeError:
        return False
    return out is not None and out.weight.shape == inp.weight.shape and bool((out.weight == inp.weight).all())
