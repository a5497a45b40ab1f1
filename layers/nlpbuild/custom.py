"""Custom text classifiers from a labelled file (``nlpserve train classifier FILE --name NAME``).

The recipe, after SetFit's observation that a linear head over a good sentence encoder is a strong few-shot
classifier (Tunstall et al., 2022, "Efficient Few-Shot Learning Without Prompts"; here without its contrastive
fine-tuning step):

1. read the file (CSV with a header row, delimiter , ; tab or | as the batch reader picks it, or JSONL): one text and one label per row, or several labels for
   multi-label (a JSON list, or a CSV cell split on ``label_separator``); drop exact duplicate texts
   (whitespace and case folded), refuse a text that appears with different labels, refuse too few examples
   per label (``MIN_PER_LABEL``) or a single label;
2. embed every text with the shipped encoder (the ``embed`` bundle: all-MiniLM-L6-v2, int8, mean pooling and L2
   normalisation in the graph), so training needs no torch;
3. hold out ``TEST_FRACTION`` of the texts, stratified by label (at least one per label), never seen in training
   or in the choice of hyper-parameters; near-copies (cosine >= ``NEAR_DUPLICATE_COSINE``: "X", "X!", "Hi, X")
   stay on one side, so the held-out score is not inflated by texts the model saw in another wording;
4. fit scikit-learn's LogisticRegression (multinomial; one-vs-rest sigmoids for multi-label) and choose its
   ``C`` by stratified k-fold cross-validation on the training split (macro-F1); for multi-label, each label's
   decision threshold is chosen on the out-of-fold probabilities (best F1, default 0.5);
5. score the held-out split (accuracy, macro-F1, per-label precision / recall / F1 / support);
6. fold the head into a copy of the encoder graph (MatMul + Add + Softmax or Sigmoid; the head stays fp32, the
   encoder is already int8), check that the graph's probabilities match the head's on the held-out texts, and
   write the bundle ``<models_dir>/classify-<name>/`` with a manifest carrying the report.

Errors are ``LabelledFileError`` (bad input: the message says what to fix) and ``BuildError``-style
RuntimeErrors from parity.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .heads import LinearHead, fold_head
from .manifest import write_manifest

MIN_PER_LABEL = 5
TEST_FRACTION = 0.2
C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
PARITY_TOLERANCE = 1e-4
#: Texts whose embeddings are at least this similar are near-copies ("X", "X!", "Hi, X"): they stay on one side
#: of the held-out split and of every cross-validation fold.
NEAR_DUPLICATE_COSINE = 0.92
PREFIX = "classify-"


class LabelledFileError(ValueError):
    """The labelled file cannot train a classifier; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class Example:
    text: str
    labels: tuple[str, ...]  # one label, or several for multi-label
    line: int  # where it came from (1-based; CSV: the header is line 1)


@dataclass
class Labelled:
    examples: list[Example]
    multi_label: bool
    labels: list[str]  # sorted
    dropped_duplicates: int = 0
    notes: list[str] = field(default_factory=list)


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _label(value: object, where: str) -> str:
    """A label is a string or an integer (JSON 3 -> "3"); anything else (true, 1.5, an object, a nested list) is
    refused rather than turned into text such as "True" or "{'x': 1}"."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    kind = "null" if value is None else {bool: "a boolean", float: "a number", dict: "an object", list: "a list"}.get(
        type(value), type(value).__name__)
    raise LabelledFileError(f"{where}: a label is {kind}; labels are strings (or integers)")


def _labels_of(value: object, separator: str | None, where: str) -> tuple[str, ...]:
    if isinstance(value, list):
        labels = [_label(v, where) for v in value]
    elif isinstance(value, str):
        labels = [p.strip() for p in value.split(separator)] if separator else [value.strip()]
    elif value is None:
        labels = []
    else:
        labels = [_label(value, where)]
    labels = [lab for lab in dict.fromkeys(labels) if lab]
    if not labels:
        raise LabelledFileError(f"{where}: no label")
    return tuple(labels)


def read_labelled(path: Path, text_field: str = "text", label_field: str = "label",
                  label_separator: str | None = None) -> Labelled:
    """Read a CSV / TSV (header row; RFC 4180 quoting; the delimiter under which the header names both columns)
    or JSONL file.

    A JSON list in the label field, or a CSV cell holding ``label_separator``, makes the file multi-label.
    Raises LabelledFileError naming the line for: a missing text or label column, an empty text, a row with no
    label, a text listed twice with different labels, fewer than MIN_PER_LABEL examples of a label, or one
    label only.
    """
    path = Path(path)
    if not path.is_file():
        raise LabelledFileError(f"{path}: no such file")
    try:
        return _read_labelled(path, text_field, label_field, label_separator)
    except UnicodeDecodeError as exc:
        raise LabelledFileError(f"{path}: not UTF-8 (byte {exc.start} of the file is 0x{exc.object[exc.start]:02x}); "
                                f"save it as UTF-8") from exc


def _read_labelled(path: Path, text_field: str, label_field: str, label_separator: str | None) -> Labelled:
    rows: list[tuple[int, dict]] = []
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        with open(path, encoding="utf-8") as fh:
            for i, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise LabelledFileError(f"{path}:{i}: not JSON ({exc.msg})") from exc
                if not isinstance(obj, dict):
                    raise LabelledFileError(f"{path}:{i}: expected a JSON object per line")
                rows.append((i, obj))
    elif path.suffix.lower() in (".csv", ".tsv"):
        from nlpserve.batch.readers import CSV_DELIMITERS

        with open(path, encoding="utf-8-sig", newline="") as fh:
            header = fh.readline()
            fh.seek(0)
            # The delimiter is the one under which the header names both columns (as the batch reader decides
            # it); quoting is RFC 4180's. Tab first for .tsv.
            order = ("\t", *CSV_DELIMITERS) if path.suffix.lower() == ".tsv" else CSV_DELIMITERS
            columns: list[str] = []
            delimiter = order[0]
            for delim in order:
                names = [h.strip() for h in next(csv.reader([header], delimiter=delim), [])]
                if not columns:
                    columns, delimiter = names, delim
                if text_field in names and label_field in names:
                    columns, delimiter = names, delim
                    break
            for name in (text_field, label_field):
                if name not in columns:
                    raise LabelledFileError(f"{path}: no {name!r} column (columns: {', '.join(columns) or 'none'}); "
                                            f"name the columns with --text-field / --label-field")
            reader = csv.DictReader(fh, delimiter=delimiter)
            reader.fieldnames = columns
            next(reader, None)  # the header row itself
            end = reader.line_num
            for row in reader:
                start, end = end + 1, reader.line_num  # a quoted line break makes a row span lines
                if None in row:
                    raise LabelledFileError(f"{path}:{start}: more cells than the header has columns")
                rows.append((start, row))
            _check_runaway_quotes(path, rows, delimiter, text_field, label_field)
    else:
        raise LabelledFileError(f"{path}: use a .csv, .tsv or .jsonl file")
    if not rows:
        raise LabelledFileError(f"{path}: no rows")
    examples: list[Example] = []
    for line, row in rows:
        where = f"{path}:{line}"
        if text_field not in row:
            raise LabelledFileError(f"{where}: no {text_field!r} field (use --text-field)")
        if label_field not in row:
            raise LabelledFileError(f"{where}: no {label_field!r} field (use --label-field)")
        text = row[text_field]
        if text is not None and not isinstance(text, str):
            kind = {bool: "a boolean", int: "a number", float: "a number", dict: "an object", list: "a list"}.get(
                type(text), type(text).__name__)
            raise LabelledFileError(f"{where}: the text is {kind}; texts are strings")
        if not text or not text.strip():
            raise LabelledFileError(f"{where}: empty text")
        examples.append(Example(text, _labels_of(row[label_field], label_separator, where), line))
    return check(examples, str(path))


def _check_runaway_quotes(path: Path, rows: list[tuple[int, dict]], delimiter: str, text_field: str,
                          label_field: str) -> None:
    """A quote opened by mistake makes one CSV field swallow the rows after it (csv reads on to the next quote).
    Quoted line breaks are legitimate, so refuse only a field whose inner lines end like rows of their own
    (``<delimiter><a label the file uses>``), naming the line where the quote opened."""
    labels = {str(row.get(label_field) or "").strip() for _, row in rows} - {""}
    for start, row in rows:
        for column in (text_field, label_field):
            value = row.get(column)
            if not isinstance(value, str) or "\n" not in value:
                continue
            inner = value.split("\n")[:-1] if column == text_field else value.split("\n")
            runaway = next((ln for ln in inner for lab in labels if ln.rstrip().endswith(delimiter + lab)), None)
            if runaway is not None:
                raise LabelledFileError(
                    f"{path}:{start}: a quote opened in this row runs on over {value.count(chr(10))} more line(s) "
                    f"that look like rows of their own ({runaway.strip()[:60]!r}): close the quote, or double a "
                    f"quote inside a quoted text (\"\")")


def check(examples: Sequence[Example], source: str = "the file") -> Labelled:
    """Drop exact duplicates (folded text, same labels), refuse conflicting ones, and check label counts."""
    seen: dict[str, Example] = {}
    kept: list[Example] = []
    for ex in examples:
        key = _fold(ex.text)
        first = seen.get(key)
        if first is None:
            seen[key] = ex
            kept.append(ex)
        elif set(first.labels) != set(ex.labels):
            raise LabelledFileError(
                f"{source}: lines {first.line} and {ex.line} hold the same text with different labels "
                f"({', '.join(first.labels)} / {', '.join(ex.labels)}): keep one, or list both labels on one "
                f"row for a multi-label file")
    multi = any(len(ex.labels) > 1 for ex in kept)
    counts = Counter(lab for ex in kept for lab in ex.labels)
    if len(counts) < 2:
        raise LabelledFileError(f"{source}: only one label ({', '.join(counts) or 'none'}): a classifier needs "
                                f"at least two")
    few = sorted((n, lab) for lab, n in counts.items() if n < MIN_PER_LABEL)
    if few:
        listed = ", ".join(f"{lab!r} has {n}" for n, lab in few[:10])
        raise LabelledFileError(f"{source}: too few examples per label: {listed}{' ...' if len(few) > 10 else ''}; "
                                f"each label needs at least {MIN_PER_LABEL} (one is held out to measure "
                                f"the classifier, the rest train it)")
    everywhere = sorted(lab for lab, n in counts.items() if n == len(kept))
    if multi and everywhere:
        raise LabelledFileError(f"{source}: label(s) {', '.join(map(repr, everywhere))} are on every text, so there "
                                f"is nothing to tell apart: drop them, or add texts without them")
    notes = [f"dropped {len(examples) - len(kept)} duplicate text(s)"] if len(kept) < len(examples) else []
    return Labelled(kept, multi, sorted(counts), len(examples) - len(kept), notes)


def near_duplicate_groups(x: np.ndarray, threshold: float = NEAR_DUPLICATE_COSINE) -> np.ndarray:
    """Group id per row of unit-length embeddings ``x`` [n, d]: rows joined (transitively, union-find) when their
    cosine similarity is at least ``threshold``, so "X", "X!" and "Hi, X" share a group. Blocks of 1,024 rows
    keep memory at O(1024 n)."""
    n = len(x)
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return int(i)

    for lo in range(0, n, 1024):
        sims = x[lo : lo + 1024] @ x.T
        rows, cols = np.nonzero(sims >= threshold)
        for r, c in zip(rows + lo, cols):
            if r < c:
                a, b = find(int(r)), find(int(c))
                if a != b:
                    parent[max(a, b)] = min(a, b)
    return np.array([find(i) for i in range(n)])


def stratified_split(data: Labelled, test_fraction: float = TEST_FRACTION, seed: int = 0,
                     groups: Sequence[int] | None = None) -> tuple[list[int], list[int]]:
    """(train, test) row indices: per label (the rarest label of a multi-label text decides), ``test_fraction``
    of its texts, at least one, go to test. With ``groups`` (``near_duplicate_groups``), a group goes whole to
    one side, so no near-copy of a held-out text is trained on. Raises LabelledFileError when a label has only
    one group (its examples are near-copies of each other: nothing to hold out)."""
    rng = np.random.default_rng(seed)
    groups = list(range(len(data.examples))) if groups is None else list(groups)
    counts = Counter(lab for ex in data.examples for lab in ex.labels)
    members: dict[int, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    by_label: dict[str, list[int]] = {}
    for g, rows in members.items():
        key = min((lab for i in rows for lab in data.examples[i].labels), key=lambda lab: (counts[lab], lab))
        by_label.setdefault(key, []).append(g)
    test: set[int] = set()
    for lab in sorted(by_label):
        gs = by_label[lab]
        if len(gs) < 2:
            raise LabelledFileError(f"label {lab!r}: its {sum(len(members[g]) for g in gs)} examples are near-copies "
                                    f"of each other, so none can be held out to measure the classifier; write "
                                    f"more varied examples")
        order = [gs[j] for j in rng.permutation(len(gs))]
        total = sum(len(members[g]) for g in gs)
        taken = 0
        for g in order[:-1]:  # keep at least one group to train on
            if taken >= max(1, round(total * test_fraction)):
                break
            test.update(members[g])
            taken += len(members[g])
    return [i for i in range(len(data.examples)) if i not in test], sorted(test)


def embed_texts(texts: Sequence[str], embed_dir: Path, batch_size: int = 32,
                progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Sentence embeddings [n, 384] float32 from the ``embed`` bundle at ``embed_dir`` (onnxruntime)."""
    from nlpserve.runtime.bundle import Bundle

    bundle = Bundle(Path(embed_dir), threads=os.cpu_count() or 1)
    out = []
    for start in range(0, len(texts), batch_size):
        chunk = list(texts[start : start + batch_size])
        out.extend(bundle.run(bundle.encode(chunk), batch_size=batch_size))
        if progress:
            progress(len(chunk))
    return np.asarray(out, dtype=np.float32).reshape(len(texts), -1)


def _targets(examples: Sequence[Example], labels: list[str], multi: bool) -> np.ndarray:
    index = {lab: i for i, lab in enumerate(labels)}
    if multi:
        y = np.zeros((len(examples), len(labels)), dtype=np.int64)
        for r, ex in enumerate(examples):
            for lab in ex.labels:
                y[r, index[lab]] = 1
        return y
    return np.array([index[ex.labels[0]] for ex in examples], dtype=np.int64)


def _model(c: float, multi: bool, seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    base = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    return OneVsRestClassifier(base) if multi else base


def _proba(model, x: np.ndarray, multi: bool) -> np.ndarray:
    return model.predict_proba(x)


def _folds(y: np.ndarray, multi: bool, seed: int, groups: Sequence[int] | None = None
           ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation folds; with ``groups`` no group is split across folds (scikit-learn's group-aware
    splitters)."""
    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

    n_groups = len(set(groups)) if groups is not None else len(y)
    if multi:
        k = int(min(5, max(2, y.sum(axis=0).min()), n_groups))
        if k < 2:
            return []
        if groups is not None:
            return list(GroupKFold(n_splits=k).split(y, groups=groups))
        return list(KFold(n_splits=k, shuffle=True, random_state=seed).split(y))
    k = int(min(5, np.bincount(y).min(), n_groups))
    if k < 2:
        return []
    if groups is not None:
        return list(StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
                    .split(np.zeros(len(y)), y, groups=groups))
    return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def _macro_f1_multi(y: np.ndarray, p: np.ndarray, thresholds: np.ndarray) -> float:
    pred = p >= thresholds
    f1 = []
    for j in range(y.shape[1]):
        tp = float((pred[:, j] & (y[:, j] == 1)).sum())
        fp = float((pred[:, j] & (y[:, j] == 0)).sum())
        fn = float((~pred[:, j] & (y[:, j] == 1)).sum())
        f1.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1))


def _best_thresholds(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    grid = np.round(np.arange(0.1, 0.91, 0.05), 2)
    out = np.full(y.shape[1], 0.5)
    for j in range(y.shape[1]):
        best = (-1.0, 0.5)
        for t in grid:
            f1 = _macro_f1_multi(y[:, [j]], p[:, [j]], np.array([t]))
            if f1 > best[0] + 1e-9 or (abs(f1 - best[0]) <= 1e-9 and abs(t - 0.5) < abs(best[1] - 0.5)):
                best = (f1, float(t))
        out[j] = best[1]
    return out


@dataclass
class Fitted:
    head: LinearHead
    multi_label: bool
    c: float
    thresholds: list[float] | None
    cv: dict[str, float]  # C -> cross-validated macro-F1


def fit_head(x: np.ndarray, examples: Sequence[Example], labels: list[str], multi: bool, seed: int = 0,
             groups: Sequence[int] | None = None) -> Fitted:
    """LogisticRegression over the embeddings, ``C`` chosen by k-fold cross-validation on these examples only
    (near-copies, ``groups``, kept within one fold)."""
    from sklearn.metrics import f1_score

    y = _targets(examples, labels, multi)
    folds = _folds(y, multi, seed, groups)
    cv: dict[str, float] = {}
    oof_best: np.ndarray | None = None
    for c in C_GRID:
        if not folds:
            break
        oof = np.zeros((len(y), len(labels)))
        for tr, va in folds:
            oof[va] = _proba(_model(c, multi, seed).fit(x[tr], y[tr]), x[va], multi)
        score = _macro_f1_multi(y, oof, np.full(len(labels), 0.5)) if multi else \
            float(f1_score(y, oof.argmax(axis=1), average="macro", labels=range(len(labels)), zero_division=0))
        cv[str(c)] = round(score, 4)
        if oof_best is None or score > max(v for k, v in cv.items() if k != str(c)):
            oof_best = oof
    c_best = float(max(cv, key=lambda k: (cv[k], -abs(np.log(float(k)))))) if cv else 10.0
    model = _model(c_best, multi, seed).fit(x, y)
    if multi:
        coef = np.vstack([est.coef_ for est in model.estimators_])
        intercept = np.concatenate([est.intercept_ for est in model.estimators_])
        thresholds = [round(float(t), 2) for t in _best_thresholds(y, oof_best)] if oof_best is not None \
            else [0.5] * len(labels)
    else:
        coef, intercept, thresholds = model.coef_, model.intercept_, None
        if len(labels) == 2:  # binary LogisticRegression keeps one row: make it two softmax logits
            coef = np.vstack([-coef[0] / 2, coef[0] / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    head = LinearHead(coef.astype(np.float32), intercept.astype(np.float32), list(labels))
    return Fitted(head, multi, c_best, thresholds, cv)


def head_probabilities(fitted: Fitted, x: np.ndarray) -> np.ndarray:
    logits = x.astype(np.float64) @ fitted.head.coef.T.astype(np.float64) + fitted.head.intercept
    if fitted.multi_label:
        return 1.0 / (1.0 + np.exp(-logits))
    return fitted.head.predict_proba(x)


def report(fitted: Fitted, probs: np.ndarray, examples: Sequence[Example]) -> dict:
    """Held-out accuracy (exact set match for multi-label), macro-F1 and a per-label report."""
    labels = fitted.head.labels
    y = _targets(examples, labels, fitted.multi_label)
    if fitted.multi_label:
        pred = probs >= np.array(fitted.thresholds)
        truth = y.astype(bool)
        accuracy = float((pred == truth).all(axis=1).mean())
    else:
        pred_idx = probs.argmax(axis=1)
        pred = np.eye(len(labels), dtype=bool)[pred_idx]
        truth = np.eye(len(labels), dtype=bool)[y]
        accuracy = float((pred_idx == y).mean())
    per_label, f1s = {}, []
    for j, lab in enumerate(labels):
        tp = int((pred[:, j] & truth[:, j]).sum())
        fp = int((pred[:, j] & ~truth[:, j]).sum())
        fn = int((~pred[:, j] & truth[:, j]).sum())
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        f1s.append(f1)
        per_label[lab] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                          "support": int(truth[:, j].sum())}
    return {"accuracy": round(accuracy, 4), "macro_f1": round(float(np.mean(f1s)), 4), "items": len(examples),
            "per_label": per_label}


@dataclass
class TrainResult:
    bundle_dir: Path
    manifest: dict
    seconds: float


def bundle_name(name: str) -> str:
    from nlpserve.catalog import MODEL_NAME

    if not MODEL_NAME.fullmatch(name):
        raise LabelledFileError(f"--name {name!r}: use 1-40 lower-case letters and digits, words joined by single "
                                f"'-' (it becomes the route /v1/classify/{name} and the batch prefix "
                                f"incoming/{PREFIX}{name}/)")
    return PREFIX + name


def train_classifier(path: Path, name: str, models_dir: Path, *, text_field: str = "text",
                     label_field: str = "label", label_separator: str | None = None, seed: int = 0,
                     progress: Callable[[str, int, int], None] | None = None,
                     log: Callable[[str], None] = print) -> TrainResult:
    """Read, split, embed, fit, score, fold and write ``<models_dir>/classify-<name>/``. Returns its manifest.

    ``progress(stage, done, total)`` is called while embedding. Raises LabelledFileError for bad input and
    RuntimeError when the folded graph does not reproduce the head (parity).
    """
    started = time.perf_counter()
    target = Path(models_dir) / bundle_name(name)
    embed_dir = Path(models_dir) / "embed"
    if not (embed_dir / "manifest.json").is_file():
        raise LabelledFileError(f"{embed_dir} has no embed bundle: build it first (python -m nlpbuild models)")
    data = read_labelled(path, text_field, label_field, label_separator)
    texts = [ex.text for ex in data.examples]
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("embedding", done, len(texts))

    if target.exists():
        log(f"replacing the existing bundle {target} (its manifest records how it was trained)")
    long_texts = _over_window(texts, embed_dir)
    if long_texts:
        log(f"note: {long_texts} text(s) are longer than the encoder's 254-piece window; training reads their "
            f"first window only (serving reads every window and averages them)")
    x = embed_texts(texts, embed_dir, progress=tick)
    groups = near_duplicate_groups(x)
    train_rows, test_rows = stratified_split(data, seed=seed, groups=groups)
    train = [data.examples[i] for i in train_rows]
    test = [data.examples[i] for i in test_rows]
    near_copies = len(groups) - len(set(groups.tolist()))
    log(f"{len(data.examples)} texts, {len(data.labels)} labels ({'multi-label' if data.multi_label else 'one label each'}); "
        f"{len(train)} to train, {len(test)} held out" + (f"; {'; '.join(data.notes)}" if data.notes else "")
        + (f"; {near_copies} near-copies kept on the same side of the split" if near_copies else ""))
    x_train, x_test = x[train_rows], x[test_rows]
    fitted = fit_head(x_train, train, data.labels, data.multi_label, seed, groups=groups[train_rows].tolist())
    probs = head_probabilities(fitted, x_test)
    held = report(fitted, probs, test)
    log(f"held-out: accuracy {held['accuracy']:.3f}, macro-F1 {held['macro_f1']:.3f} on {len(test)} texts "
        f"(C={fitted.c:g} chosen by cross-validation on the training split)")

    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    fold_head(embed_dir / "model.onnx", staging / "model.onnx", fitted.head,
              activation="sigmoid" if data.multi_label else "softmax")
    shutil.copy2(embed_dir / "tokenizer.json", staging / "tokenizer.json")
    parity = _parity(staging, test, probs)
    embed_manifest = json.loads((embed_dir / "manifest.json").read_text())
    fields = {
        "name": bundle_name(name),
        "kind": "sequence-classification",
        "inputs": embed_manifest["inputs"],
        "output": "probabilities",
        "max_length": embed_manifest["max_length"],
        "labels": data.labels,
        "description": f"Custom classifier {name!r}: a {'one-vs-rest sigmoid' if data.multi_label else 'softmax'} "
                       f"head over all-MiniLM-L6-v2 embeddings, trained by `nlpserve train classifier` on "
                       f"{len(train)} texts of {Path(path).name}.",
        "source": {**embed_manifest["source"], "head": f"trained on {Path(path).name}"},
        "quantization": f"encoder as in the embed bundle; head fp32. {embed_manifest.get('quantization') or ''}".strip(),
        "quality": {"heldout": held, "parity_max_abs_diff": parity},
    }
    manifest = write_manifest(staging, fields, inputs_hash="")
    manifest.update({
        "multi_label": data.multi_label,
        **({"thresholds": dict(zip(data.labels, fitted.thresholds))} if fitted.thresholds else {}),
        "training": {"file": str(Path(path).name), "examples": len(data.examples), "train": len(train),
                     "heldout": len(test), "duplicates_dropped": data.dropped_duplicates,
                     "label_counts": dict(sorted(Counter(lab for ex in data.examples for lab in ex.labels).items())),
                     "c": fitted.c, "cv_macro_f1_by_c": fitted.cv, "seed": seed,
                     "method": "LogisticRegression over frozen embeddings; C by k-fold CV on the training split",
                     "texts_over_one_window": long_texts,
                     "near_copies": near_copies, "near_copy_cosine": NEAR_DUPLICATE_COSINE,
                     "seconds": round(time.perf_counter() - started, 1)},
    })
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return TrainResult(target, manifest, time.perf_counter() - started)


def _over_window(texts: Sequence[str], embed_dir: Path) -> int:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(embed_dir) / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return sum(len(e.ids) > 254 for e in tok.encode_batch(list(texts), add_special_tokens=False))


def _parity(bundle_dir: Path, test: Sequence[Example], expected: np.ndarray) -> float:
    """Max |graph - head| probability over the held-out texts; RuntimeError over PARITY_TOLERANCE."""
    from nlpserve.runtime.bundle import Bundle

    manifest = {"name": "parity", "kind": "sequence-classification", "output": "probabilities",
                "inputs": ["input_ids", "attention_mask", "token_type_ids"], "max_length": 256}
    (bundle_dir / "manifest.json").write_text(json.dumps(manifest))
    bundle = Bundle(bundle_dir, threads=os.cpu_count() or 1)
    got = np.asarray(bundle.run(bundle.encode([ex.text for ex in test]), batch_size=32), dtype=np.float64)
    diff = float(np.abs(got - expected).max()) if len(test) else 0.0
    if diff > PARITY_TOLERANCE:
        raise RuntimeError(f"the folded graph's probabilities differ from the head's by {diff:.2e} "
                           f"(tolerance {PARITY_TOLERANCE:g}): not written")
    return round(diff, 8)


def subsample(examples: Iterable[Example], per_label: int, seed: int) -> list[Example]:
    """At most ``per_label`` examples of each (first) label, drawn with ``seed`` (for learning curves)."""
    rng = np.random.default_rng(seed)
    groups: dict[str, list[Example]] = {}
    for ex in examples:
        groups.setdefault(ex.labels[0], []).append(ex)
    out = []
    for lab in sorted(groups):
        g = groups[lab]
        out.extend(g[i] for i in sorted(rng.permutation(len(g))[:per_label]))
    return out
