"""Per-request work budget: the model work one call may ask for, counted before the model runs.

Bytes do not bound cost. A 199 kB document can be 50,000 or 200,000 word pieces, and "Ab. " x 12,000 is 48 kB
but 12,000 sentences. So each request is also measured in the units the cost grows with, and a request over
its budget is refused with a 413 ``request_too_expensive`` that names the limit and points to the S3 batch
path, before any model runs:

| tasks | unit | setting |
|---|---|---|
| sentiment, classify | word pieces in all 256-piece windows (overlaps and [CLS]/[SEP] included) | ``NLP_MAX_REQUEST_PIECES`` |
| embed, similarity | word pieces the model runs (each text cut to the 256-piece window, [CLS]/[SEP] included) | ``NLP_MAX_REQUEST_PIECES`` |
| ner, redact | word pieces in all 512-piece windows (overlaps included) | ``NLP_MAX_NER_PIECES`` |
| summarize | word pieces of all sentences, and sentences | ``NLP_MAX_SUMMARY_PIECES``, ``NLP_MAX_SUMMARY_SENTENCES`` |

The defaults keep the worst request within them under the API function's timeout and memory at its
deployed size with a margin (``benchmarks/limits.py`` measures it; README "Limits"). A setting of 0 turns
that budget off. Callers that bound time another way (the S3 batch path checkpoints between batches) run
their calls inside ``unbounded()``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from nlpserve import catalog, config
from nlpserve.errors import RequestTooExpensive

_UNBOUNDED: ContextVar[bool] = ContextVar("nlpserve_budget_unbounded", default=False)


@contextmanager
def unbounded() -> Iterator[None]:
    """Run task calls in this block without the per-request budget (for the S3 batch path)."""
    token = _UNBOUNDED.set(True)
    try:
        yield
    finally:
        _UNBOUNDED.reset(token)


def active() -> bool:
    return not _UNBOUNDED.get()


def enforce(task: str, used: int, limit: int, *, setting: str, unit: str, partial: bool = False) -> None:
    """Raise ``RequestTooExpensive`` when ``used`` exceeds ``limit`` (0 = no limit, or inside ``unbounded()``).

    ``partial``: counting stopped as soon as the limit was passed, so ``used`` is a lower bound.
    """
    if limit <= 0 or used <= limit or not active():
        return
    amount = f"more than {limit:,}" if partial else f"{used:,}"
    raise RequestTooExpensive(
        f"this {task} request needs {amount} {unit}; the limit is {limit:,} per request ({setting}), so that "
        f"every request finishes within the function's timeout. Send fewer or shorter texts per request, "
        f"or use the S3 batch path: {BATCH_PATHS.get(task, 'incoming/' + task + '/<file>.jsonl')}",
        details=[{"limit": setting, "max": limit, "requested": used, "unit": unit, "at_least": partial}],
    )


#: Where the same work goes in the S3 batch path (docs/BATCH.md), named in every budget error: a task with a
#: document mode takes a whole document under ``docs/``; the rest say it here.
BATCH_PATHS = {
    "similarity": "incoming/embed/<file>.jsonl (embeddings; cosine is their dot product)",
    "ner": "incoming/ner/<file>.jsonl for many texts; a whole document to incoming/redact/docs/<file>.txt "
    "(its entity report lists every entity)",
    **{t.name: f"incoming/{t.name}/docs/<file>.txt for a whole document, incoming/{t.name}/<file>.jsonl for many "
       f"texts" for t in catalog.TASKS if t.documents},
}


def window_pieces(count: int, window: int, overlap: int) -> int:
    """Pieces the model runs for a text of ``count`` pieces cut into overlapping windows (+2 specials each)."""
    from nlpserve.runtime import plan_windows

    return sum(end - start + 2 for start, end in plan_windows(count, window, overlap))


def check(task: Any, texts: Sequence[str], name: str | None = None) -> None:
    """Refuse a request whose model work exceeds its task's budget; called by ``Task.run`` after validation.

    Summarize counts sentences and pieces itself (it has to split the documents first) in its ``_run``. A task
    with no model bundle (language: a naive Bayes over bytes, linear and cheap) has no word-piece budget.
    """
    from nlpserve.runtime import WINDOW_OVERLAP
    from nlpserve.tasks.ner import NerTask
    from nlpserve.tasks.summarize import SummarizeTask

    if not active() or isinstance(task, SummarizeTask) or task.bundle_name is None:
        return
    settings = config.settings
    label = name or task.name
    bundle = task.bundle
    window = bundle.max_length - 2
    windowed = task.windowed
    if isinstance(task, NerTask):
        limit, setting = settings.max_ner_pieces, "NLP_MAX_NER_PIECES"
    else:
        limit, setting = settings.max_request_pieces, "NLP_MAX_REQUEST_PIECES"
        if not windowed and len(texts) * (window + 2) <= limit:
            return  # every text is cut to the window: this request cannot exceed the budget
    if limit <= 0:
        return
    used = 0
    for text in texts:  # one text at a time: stop tokenising as soon as the budget is spent
        count = len(bundle.tokenizer.encode(text, add_special_tokens=False))
        used += window_pieces(count, window, WINDOW_OVERLAP) if windowed else min(count, window) + 2
        if used > limit:
            enforce(label, used, limit, setting=setting, unit="model word pieces", partial=True)

__all__ = ["active", "check", "enforce", "unbounded", "window_pieces"]
