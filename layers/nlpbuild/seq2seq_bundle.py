"""``python -m nlpbuild seq2seq``: a model bundle from a seq2seq checkpoint the user brings (translation or
abstractive summarisation).

No seq2seq weights ship in any registry package, so this builder starts from a local Hugging Face directory (or a
hub id, when the machine is online): a Marian (opus-mt) pair or a T5-family model. It

1. converts the tokenizers to ``tokenizers`` JSON (Marian's SentencePiece models by ``seq2seq_tokenizer``; others
   from their fast tokenizer), so the runtime needs no sentencepiece or transformers;
2. exports the two graphs (``seq2seq.export``: prefill + decoder with past) in fp32;
3. checks that the ONNX greedy and beam decoders reproduce transformers' ``generate`` token for token on the
   sample texts (``ParityError`` otherwise: the bundle is not written);
4. quantises both graphs to int8 (dynamic, per-channel weights; ``quantize.quantize_int8``) and measures how often
   the int8 output equals the fp32 output, sequence for sequence and token for token (``--fp32`` keeps fp32);
5. writes ``<out>/<name>/`` with ``manifest.json`` (kind ``seq2seq``: task, languages, source length limit,
   generation defaults, the decoding facts of the architecture, licence, the parity and int8 reports), and the
   model layer ``<layers_dir>/model-<name>.zip`` (``/opt/models/<name>``) as ``python -m nlpbuild layers`` packs
   every other bundle, with its unzipped size against Lambda's limit beside the runtime layer.

Bundle names: ``translate-<source>-<target>`` (``translate-en-de``) or ``summarize-<name>``; the task finds its
bundles by that prefix (``nlpserve.catalog``).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlpbuild.manifest import BUILDER, file_entry

#: English sentences the parity check decodes when the user gives none (``--sample``).
DEFAULT_SAMPLES = (
    "The council approved the budget for three new parks on Tuesday.",
    "Where is my parcel? It should have arrived last week.",
    "Prices rose by 4.5 percent in March, the statistics office said.",
    "I would like to book a table for two at eight o'clock.",
    "Thank you for your help.",
    "The new model is smaller, faster and cheaper to run than the old one, and it keeps the same accuracy.",
)
TASKS = ("translate", "summarize")
#: Model families whose export and decoding are checked (tests/functional/test_seq2seq.py).
FAMILIES = ("marian", "t5")
#: Most source pieces a request may feed the encoder (models with learned positions are capped lower by their table).
MAX_SOURCE_TOKENS = 512
#: Lambda's unzipped size limit (function code + layers), and the runtime layer's measured size (README).
LAMBDA_UNZIPPED = 262_144_000
RUNTIME_LAYER_BYTES = 116_400_000
#: The most generated pieces per input a bundle defaults to (a sentence for translation, a chunk for summaries).
MAX_NEW_TOKENS = 256


class ParityError(RuntimeError):
    """The ONNX decode did not reproduce transformers' ``generate`` on a sample; the message shows both."""


@dataclass
class BuildResult:
    bundle_dir: Path
    manifest: dict[str, Any]
    seconds: float
    layer: dict[str, Any] | None = None  # the model layer zip and its sizes (None: not built)


LANGUAGE = re.compile(r"[a-z]{2}")


def bundle_name(task: str, source_language: str | None, target_language: str | None, name: str | None) -> str:
    """``translate-<src>-<tgt>`` (or ``translate-<name>``) or ``summarize-<name>`` (default
    ``summarize-abstractive``). ValueError: a translation without both languages, a language that is not an ISO
    639-1/-3 code in lower case, a name that is not 1-40 lower-case letters and digits joined by '-' (it becomes a
    directory, a layer and part of the CDK config)."""
    from nlpserve.catalog import MODEL_NAME

    if name is not None and not MODEL_NAME.fullmatch(name.removeprefix(f"{task}-")):
        raise ValueError(f"--name {name!r}: use 1-40 lower-case letters and digits, words joined by single '-' "
                         "(e.g. en-de-news)")
    if task == "translate":
        if not (source_language and target_language):
            raise ValueError("a translation bundle needs --source-language and --target-language (ISO 639-1, e.g. "
                             "en and de): the translate task chooses a bundle by its language pair")
        known = _detectable_languages()
        for flag, code in (("--source-language", source_language), ("--target-language", target_language)):
            if not LANGUAGE.fullmatch(code) or (known and code not in known):
                raise ValueError(f"{flag} {code!r}: give an ISO 639-1 code in lower case (en, de, fr, ...), as "
                                 "requests and language detection (py3langid, 97 languages) name languages")
        if source_language == target_language:
            raise ValueError(f"--source-language and --target-language are both {source_language!r}")
        return f"translate-{name.removeprefix('translate-')}" if name else f"translate-{source_language}-{target_language}"
    if source_language or target_language:
        raise ValueError("--source-language / --target-language are for --task translate (a summary is written "
                         "in its input's language)")
    return f"summarize-{name.removeprefix('summarize-')}" if name else "summarize-abstractive"


def _detectable_languages() -> frozenset[str]:
    """The ISO 639-1 codes py3langid names (what the translate task detects and flags with)."""
    try:
        from nlpserve.tasks.language import identifier

        return frozenset(identifier().nb_classes)
    except ImportError:  # pragma: no cover - py3langid is a runtime dependency
        return frozenset()


def check_overrides(max_new_tokens: int | None, num_beams: int | None) -> None:
    """ValueError for an explicit ``--max-new-tokens`` / ``--num-beams`` outside the API's ceilings (before any
    work)."""
    from nlpserve.tasks.generation import MAX_BEAMS
    from nlpserve.tasks.generation import MAX_NEW_TOKENS as CEILING

    if max_new_tokens is not None and not 1 <= max_new_tokens <= CEILING:
        raise ValueError(f"--max-new-tokens must be 1-{CEILING} (the API's ceiling), not {max_new_tokens}")
    if num_beams is not None and not 1 <= num_beams <= MAX_BEAMS:
        raise ValueError(f"--num-beams must be 1-{MAX_BEAMS} (the API's ceiling), not {num_beams}")


def generation_defaults(model, task: str, max_new_tokens: int | None, num_beams: int | None) -> dict[str, Any]:
    """The bundle's decoding defaults, as transformers would decode this checkpoint: its generation config, and for
    a summary its ``task_specific_params["summarization"]`` (t5-small: 4 beams, length penalty 2, no 3-gram
    repeats, min_length 30, early stopping), as transformers' summarization pipeline applies them; explicit
    ``max_new_tokens`` / ``num_beams`` win. ValueError: a setting outside the API's ceilings, or one the runtime
    does not implement (repetition penalty, a forced first token as mBART / NLLB use)."""
    gen = model.generation_config.to_dict()
    if task == "summarize":
        gen.update((getattr(model.config, "task_specific_params", None) or {}).get("summarization") or {})
    unsupported = {k: gen.get(k) for k, neutral in (("repetition_penalty", 1.0), ("forced_bos_token_id", None),
                                                     ("encoder_repetition_penalty", 1.0))
                   if gen.get(k) not in (neutral, None) and gen.get(k) != neutral}
    if unsupported:
        raise ValueError(f"the checkpoint's generation settings {unsupported} are not supported by the runtime's "
                         "decoder (Marian and T5 models do not need them)")
    max_length = gen.get("max_length") or MAX_NEW_TOKENS + 1  # transformers counts the decoder start token
    # a decoder with a position table (Marian) cannot write more pieces than it has positions
    positions = getattr(model.config, "max_position_embeddings", None) or None
    if max_new_tokens is not None and positions and max_new_tokens > positions:
        raise ValueError(f"--max-new-tokens {max_new_tokens}: this model's decoder has {positions} positions")
    defaults = {
        "max_new_tokens": max_new_tokens if max_new_tokens is not None else min(
            MAX_NEW_TOKENS, max_length - 1, positions or MAX_NEW_TOKENS),
        "num_beams": num_beams if num_beams is not None else min(4, gen.get("num_beams") or 1),
        "length_penalty": float(gen["length_penalty"] if gen.get("length_penalty") is not None else 1.0),
        "no_repeat_ngram_size": int(gen.get("no_repeat_ngram_size") or 0),
        "min_new_tokens": max(0, int(gen.get("min_length") or 0) - 1),
        "early_stopping": gen.get("early_stopping") is True,
        "bad_words_ids": [list(map(int, w)) for w in gen.get("bad_words_ids") or []],
    }
    check_overrides(defaults["max_new_tokens"], defaults["num_beams"])
    defaults["min_new_tokens"] = min(defaults["min_new_tokens"], defaults["max_new_tokens"] - 1)
    return defaults


def resolve_checkpoint(model: str) -> Path:
    """A local checkpoint directory for ``model``: the directory itself, or the hub snapshot of a hub id (needs
    network access; raises FileNotFoundError saying so when there is none)."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model, allow_patterns=["*.json", "*.spm", "*.model", "*.safetensors", "*.txt"]))
    except Exception as err:  # offline, unknown id, gated model ...
        raise FileNotFoundError(f"{model!r} is not a local directory and could not be fetched from the Hugging Face "
                                f"hub ({type(err).__name__}: {err}). Download the checkpoint on a machine with "
                                "network access (`huggingface-cli download Helsinki-NLP/opus-mt-en-de --local-dir "
                                "opus-mt-en-de`) and pass the directory.") from err


def tokenizers_for(checkpoint: Path, family: str):
    """(source, target) ``tokenizers.Tokenizer``: Marian's two SentencePiece models converted, else the model's
    fast tokenizer for both sides."""
    if family == "marian":
        from nlpbuild.seq2seq_tokenizer import marian_tokenizers

        return marian_tokenizers(checkpoint)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(checkpoint), use_fast=True)
    if not getattr(tok, "is_fast", False):
        raise ValueError(f"{checkpoint}: the {family} tokenizer has no fast (tokenizers) version")
    backend = tok.backend_tokenizer
    return backend, backend


def _encode(tokenizer, texts: Sequence[str], prefix: str, pad: int, limit: int) -> tuple[np.ndarray, np.ndarray]:
    rows = [e.ids[:limit] for e in tokenizer.encode_batch([prefix + t for t in texts])]
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad, dtype=np.int64)
    mask = np.zeros_like(ids)
    for i, r in enumerate(rows):
        ids[i, : len(r)], mask[i, : len(r)] = r, 1
    return ids, mask


def _cut(rows: list[list[int]], eos: int) -> list[list[int]]:
    return [r[: r.index(eos) + 1] if eos in r else r for r in rows]


def build(model: str, out_root: Path, task: str, *, source_language: str | None = None,
          target_language: str | None = None, name: str | None = None, prefix: str | None = None,
          samples: Sequence[str] = DEFAULT_SAMPLES, quantize: bool = True, license: str | None = None,
          max_new_tokens: int | None = None, num_beams: int | None = None, threads: int = 2,
          layers_dir: Path | None = None, log: Callable[[str], None] = print) -> BuildResult:
    """Build the bundle ``<out_root>/<bundle_name(...)>`` from checkpoint ``model`` (see the module docstring).

    Raises ValueError (bad task, languages or names), FileNotFoundError (no checkpoint), ParityError (the fp32
    ONNX decode differs from transformers). Needs torch, transformers and onnx (the ``build`` extra)."""
    import torch
    from nlpserve.runtime.generate import GenerationConfig, Seq2SeqGraphs
    from transformers import AutoModelForSeq2SeqLM

    from nlpbuild import seq2seq
    from nlpbuild.quantize import quantize_int8

    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, not {task!r}")
    samples = list(samples)
    if not samples or any(not text.strip() for text in samples):
        raise ValueError("every --sample must have some text: the parity check decodes each one")
    started = time.monotonic()
    bundle = bundle_name(task, source_language, target_language, name)
    check_overrides(max_new_tokens, num_beams)
    checkpoint = resolve_checkpoint(model)
    log(f"[{bundle}] load {checkpoint}")
    torch.manual_seed(0)
    try:
        hf = AutoModelForSeq2SeqLM.from_pretrained(str(checkpoint)).eval()
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f"{checkpoint} is not a seq2seq checkpoint transformers can load (a Marian / opus-mt pair "
                         f"or a T5-family model, with config.json and its weights): {str(err).splitlines()[0]}"
                         ) from err
    arch = seq2seq.architecture(hf)
    if arch.family not in FAMILIES:
        raise ValueError(f"{checkpoint} is a {arch.family} model; the exporter and decoder are checked on "
                         f"{', '.join(FAMILIES)}")
    source_tok, target_tok = tokenizers_for(checkpoint, arch.family)
    if prefix is None:  # T5 checkpoints carry their task prefixes ("summarize: ", "translate English to German: ")
        params = (getattr(hf.config, "task_specific_params", None) or {})
        key = "summarization" if task == "summarize" else f"translation_{source_language}_to_{target_language}"
        prefix = (params.get(key) or {}).get("prefix", "")
    limit = min(MAX_SOURCE_TOKENS, arch.max_source_positions or MAX_SOURCE_TOKENS)
    defaults = generation_defaults(hf, task, max_new_tokens, num_beams)

    work = Path(tempfile.mkdtemp(prefix="nlpbuild-seq2seq-"))
    try:
        log(f"[{bundle}] export fp32 graphs ({arch.family}, {arch.decoder_layers} decoder layers, "
            f"vocab {arch.vocab_size})")
        seq2seq.export(hf, work / "fp32")
        fp32 = Seq2SeqGraphs(work / "fp32", arch.manifest(), threads=threads)
        ids, mask = _encode(source_tok, samples, prefix, arch.pad_token_id, limit)
        settings = [("greedy", {**defaults, "num_beams": 1, "early_stopping": False})]
        if defaults["num_beams"] > 1:
            settings.append((f"beam {defaults['num_beams']}", defaults))
        settings = [(label, kwargs, GenerationConfig(**kwargs)) for label, kwargs in settings]
        reference: dict[str, list[list[int]]] = {}
        for label, kwargs, config in settings:
            # min_length 0: the checkpoint's own min_length would apply beside min_new_tokens
            hf_kwargs = {**{k: v for k, v in kwargs.items() if not (k == "bad_words_ids" and not v)}, "min_length": 0}
            try:
                want = _cut(seq2seq.torch_generate(hf, ids, mask, **hf_kwargs), arch.eos_token_id)
            except (IndexError, RuntimeError, ValueError) as err:
                raise ValueError(f"transformers' own generate fails on this checkpoint with the settings {hf_kwargs}"
                                 f" ({type(err).__name__}: {str(err).splitlines()[0]}): fix its generation config "
                                 "or pass --max-new-tokens / --num-beams") from err
            got = fp32.generate(ids, mask, config)
            for text, w, g in zip(samples, want, got):
                if w != g:
                    raise ParityError(f"{label}: the fp32 ONNX decode of {text!r} differs from transformers' generate:"
                                      f" {g} != {w}")
            reference[label] = got
            log(f"[{bundle}] parity {label}: {len(samples)} of {len(samples)} samples identical to transformers")

        out = Path(out_root) / bundle
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        if quantize:
            for graph in (seq2seq.PREFILL, seq2seq.DECODER_WITH_PAST):
                quantize_int8(work / "fp32" / graph, out / graph)
            if seq2seq.embeddings_tied(hf):  # one int8 copy of the shared embedding / LM head in the decoder graph
                saved = seq2seq.tie_quantized_embedding(out / seq2seq.DECODER_WITH_PAST)
                log(f"[{bundle}] decoder embedding read from the LM head's int8 weight: {saved / 1e6:.2f} MB saved")
            agreement = {}
            int8 = Seq2SeqGraphs(out, arch.manifest(), threads=threads)
            for label, _, config in settings:
                got = int8.generate(ids, mask, config)
                same_tokens = sum(a == b for w, g in zip(reference[label], got) for a, b in zip(w, g))
                agreement[label] = {
                    "sequences_identical": round(sum(w == g for w, g in zip(reference[label], got)) / len(got), 4),
                    "tokens_identical": round(same_tokens / max(1, sum(max(len(w), len(g))
                                                                       for w, g in zip(reference[label], got))), 4)}
                log(f"[{bundle}] int8 vs fp32 {label}: {agreement[label]}")
        else:
            for graph in (seq2seq.PREFILL, seq2seq.DECODER_WITH_PAST):
                shutil.copy2(work / "fp32" / graph, out / graph)
            agreement = None
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # compact JSON: opus-mt's 58,101-piece tokenizers are about half the size unindented
    source_tok.save(str(out / "source_tokenizer.json"), pretty=False)
    target_tok.save(str(out / "target_tokenizer.json"), pretty=False)
    config_license = license or _license(checkpoint)
    manifest = {
        "name": bundle,
        "version": "1.0.0",
        "kind": "seq2seq",
        "task": task,
        "model_file": seq2seq.PREFILL,
        "decoder_file": seq2seq.DECODER_WITH_PAST,
        "tokenizer_file": "source_tokenizer.json",
        "target_tokenizer_file": "target_tokenizer.json",
        "inputs": ["input_ids", "attention_mask"],
        "output": None,
        "max_length": limit,
        "source_language": source_language,
        "target_language": target_language,
        "input_prefix": prefix,
        "generation": defaults,
        "architecture": arch.manifest(),
        "description": (f"{'Translation' if task == 'translate' else 'Abstractive summarisation'} "
                        f"({arch.family}{f', {source_language} -> {target_language}' if task == 'translate' else ''}) "
                        f"from the checkpoint {Path(model).name}, exported by nlpbuild.seq2seq"),
        # a local directory by its name only: the build machine's paths are not the model's identity
        "source": {"model": Path(model).name if Path(model).expanduser().is_dir() else str(model),
                   "license": config_license},
        "quantization": "int8 dynamic (QInt8, per-channel weights)" if quantize else None,
        "quality": {"parity_with_transformers": {label: f"{len(samples)}/{len(samples)} samples identical"
                                                 for label, _, _ in settings},
                    **({"int8_vs_fp32": agreement} if agreement else {})},
        "files": {p.name: file_entry(p) for p in sorted(out.iterdir()) if p.is_file()},
        "build": {"builder": BUILDER, "built_at": None, "parameters": {"prefix": prefix, "samples": len(samples)}},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    layer = None
    if layers_dir is not None:  # the model layer, as `python -m nlpbuild layers` packs the shipped bundles
        from nlpbuild.layers import build_model_layer

        info = build_model_layer(out_root, bundle, layers_dir, force=True)
        layer = {"zip": str(Path(layers_dir) / f"model-{bundle}.zip"), "zipped_bytes": info.zipped_bytes,
                 "unzipped_bytes": info.unzipped_bytes,
                 "fits_a_function_with_the_runtime_layer": info.unzipped_bytes + RUNTIME_LAYER_BYTES <= LAMBDA_UNZIPPED}
        log(f"[{bundle}] layer {layer['zip']}: {info.unzipped_bytes / 1e6:.1f} MB unzipped; with the runtime layer "
            f"({RUNTIME_LAYER_BYTES / 1e6:.1f} MB) {(info.unzipped_bytes + RUNTIME_LAYER_BYTES) / 1e6:.1f} MB of "
            f"Lambda's {LAMBDA_UNZIPPED / 1e6:.1f} MB")
    seconds = time.monotonic() - started
    log(f"[{bundle}] wrote {out} ({sum(e['bytes'] for e in manifest['files'].values()) / 1e6:.1f} MB) in {seconds:.0f}s")
    return BuildResult(out, manifest, seconds, layer)


def _license(checkpoint: Path) -> str | None:
    """The licence a model card's front matter declares (``license: cc-by-4.0``), else None."""
    readme = checkpoint / "README.md"
    if readme.is_file():
        for line in readme.read_text(encoding="utf-8", errors="replace").splitlines()[:40]:
            if line.lower().startswith("license:"):
                return line.split(":", 1)[1].strip() or None
    return None


def add_arguments(parser) -> None:
    parser.add_argument("model", help="checkpoint directory (or a hub id, when online)")
    parser.add_argument("--task", choices=TASKS, required=True)
    parser.add_argument("--source-language", help="ISO 639-1 code of the input language (translate)")
    parser.add_argument("--target-language", help="ISO 639-1 code of the output language (translate)")
    parser.add_argument("--name", help="bundle name (default translate-<src>-<tgt> / summarize-abstractive)")
    parser.add_argument("--prefix", help="text put before every input (T5: 'summarize: '); default from the config")
    parser.add_argument("--sample", action="append", help="a source text for the parity check (repeatable)")
    parser.add_argument("--fp32", action="store_true", help="keep fp32 graphs (no int8 quantisation)")
    parser.add_argument("--license", help="licence to record (default: the model card's front matter)")
    parser.add_argument("--max-new-tokens", type=int, help=f"default generated pieces (default: the model's, "
                        f"at most {MAX_NEW_TOKENS})")
    parser.add_argument("--num-beams", type=int, help="default beams (default: the model's, at most 4)")
    parser.add_argument("--out", type=Path, default=Path("build/models"))
    parser.add_argument("--layers-dir", type=Path, default=Path("build/layers"),
                        help="where the model layer zip model-<name>.zip goes")
    parser.add_argument("--no-layer", action="store_true", help="write the bundle only, no layer zip")


def run(args) -> int:
    try:
        result = build(args.model, args.out, args.task, source_language=args.source_language,
                       target_language=args.target_language, name=args.name, prefix=args.prefix,
                       samples=tuple(args.sample or DEFAULT_SAMPLES), quantize=not args.fp32, license=args.license,
                       max_new_tokens=args.max_new_tokens, num_beams=args.num_beams,
                       layers_dir=None if args.no_layer else args.layers_dir,
                       log=lambda msg: print(msg, file=sys.stderr))
    except (ValueError, FileNotFoundError, ParityError) as err:
        kind = {FileNotFoundError: "checkpoint_not_found", ParityError: "parity_failed"}.get(type(err),
                                                                                             "invalid_build_input")
        print(json.dumps({"error": str(err), "error_type": kind}))
        return 2
    print(json.dumps({"bundle": str(result.bundle_dir), "layer": result.layer, "quality": result.manifest["quality"],
                      "seconds": round(result.seconds, 1),
                      "next": {"serve": "nlpserve serve" + ("" if args.out.resolve() == Path("build/models").resolve()
                                                             else f"  (with NLP_EXTRA_MODELS_DIRS={args.out})"),
                               "deploy": f"cdk deploy -c seq2seq_models={result.bundle_dir.name}  (from infra/)"}},
                     indent=2))
    return 0
