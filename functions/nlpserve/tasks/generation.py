"""What the text-generation tasks share (``translate``, ``summarize`` with ``mode=abstractive``): finding the seq2seq
bundles the user brought, request-level decoding options, the time budget, and packing sentences into encoder
inputs.

The bundles are not built by ``nlpserve build models`` (no seq2seq weights ship in a registry package): the user
builds them from a checkpoint with ``python -m nlpbuild seq2seq`` (README "Translation and abstractive summaries")
and deploys them with the stack's ``seq2seq_models`` setting. Until then the tasks answer 503 ``model_unavailable``
with that command in the message.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from pydantic import Field

from nlpserve import catalog, config
from nlpserve.errors import GenerationTimeout, ModelUnavailable
from nlpserve.runtime import available_bundles, load_bundle
from nlpserve.runtime.generate import GenerationConfig
from nlpserve.runtime.seq2seq import Seq2SeqBundle
from nlpserve.tasks import budget
from nlpserve.tasks.base import TaskParams

#: Ceilings of the request options (each bundle's manifest gives the defaults).
MAX_BEAMS = 8
MAX_NEW_TOKENS = 512


class GenerationParams(TaskParams):
    """Decoding options of a text-generation request (defaults: the bundle manifest's ``generation``)."""

    num_beams: int | None = Field(None, ge=1, le=MAX_BEAMS, description="Beam width (1: greedy; default: the "
                                  "model's).")
    max_new_tokens: int | None = Field(None, ge=1, le=MAX_NEW_TOKENS,
                                       description="Most generated word pieces per sentence (translate) or chunk "
                                                   "(abstractive summary).")


def generation_config(bundle: Seq2SeqBundle, params: GenerationParams) -> GenerationConfig:
    overrides = {k: v for k, v in (("num_beams", params.num_beams), ("max_new_tokens", params.max_new_tokens))
                 if v is not None}
    return dataclasses.replace(bundle.defaults(), **overrides)


def brought_bundles(task: str) -> list[str]:
    """Names of the present bundles of ``task``'s prefix (``catalog.TaskEntry.brought``), sorted."""
    prefix = catalog.entry(task).brought
    return [b for b in available_bundles() if prefix and b.startswith(prefix)]


def warm(task: str) -> None:
    """Load every present bundle of ``task`` now (Lambda init), not on the first request."""
    for name in brought_bundles(task):
        load(name)


def load(name: str) -> Seq2SeqBundle:
    bundle = load_bundle(name)
    if not isinstance(bundle, Seq2SeqBundle):
        raise ModelUnavailable(f"bundle '{name}' is not a seq2seq bundle", details=[{"bundle": name}])
    return bundle


def enforce_budget(task: str, pieces: int) -> None:
    """413 request_too_expensive before any decoding when the most pieces a request may generate (summed over its
    model inputs: each input's cap x ``num_beams``) exceed ``NLP_MAX_GENERATION_TOKENS`` (not in batch)."""
    budget.enforce(task, pieces, config.settings.max_generation_tokens, setting="NLP_MAX_GENERATION_TOKENS",
                   unit="generated word pieces at most (per model input: its max_new_tokens cap x num_beams)")


def fit(bundle: Seq2SeqBundle, text: str,
        spans: Sequence[tuple[int, int]]) -> tuple[list[tuple[int, int]], list[int]]:
    """``spans`` (sentences of ``text``) with each one the encoder cannot read whole (over ``bundle.max_length``
    pieces with the prefix and EOS) cut into consecutive pieces that fit, at the last word boundary (a piece that
    starts after whitespace) before the limit, else at the limit. Each cut is counted again as the encoder will
    read it (a cut inside a word, or before characters normalisation expands, can tokenise to more pieces) and
    moved back until it fits. Text with no sentence ends (a log, a transcript) is then read whole instead of
    being cut after its first window.

    Returns the spans and each one's encoder pieces (prefix and EOS included), so callers need not count again.
    """
    room = max(8, bundle.max_length - bundle.overhead)
    counts = bundle.count_pieces([text[s:e] for s, e in spans])
    out: list[tuple[int, int]] = []
    pieces: list[int] = []
    for (start, end), count in zip(spans, counts):
        if count <= bundle.max_length:
            out.append((start, end))
            pieces.append(count)
            continue
        offsets = [(start + a, start + b) for a, b in bundle.piece_offsets(text[start:end])]
        at = 0
        while at < len(offsets):
            stop = min(at + room, len(offsets))
            if stop < len(offsets):  # back to a piece that starts a word, if the window has one
                for k in range(stop, at + room // 2, -1):
                    if offsets[k][0] > 0 and text[offsets[k][0] - 1].isspace():
                        stop = k
                        break
            while True:
                piece_end = offsets[stop][0] if stop < len(offsets) else end
                chunk = text[offsets[at][0]:piece_end]
                count = bundle.count_pieces([chunk.strip()])[0]
                if count <= bundle.max_length or stop - at <= 1:
                    break
                stop = max(at + 1, stop - (count - bundle.max_length))
            lead = len(chunk) - len(chunk.lstrip())
            if chunk.strip():
                out.append((offsets[at][0] + lead, offsets[at][0] + len(chunk.rstrip())))
                pieces.append(count)
            at = stop
    return out, pieces


def lines(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` split at every line break inside them (whitespace trimmed, empty parts dropped): a model writes
    one line per input, so a list, an address or subtitles keep their lines only when each line is its own
    input."""
    out = []
    for start, end in spans:
        at = start
        for part in text[start:end].split("\n"):
            stripped = part.strip()
            if stripped:
                lead = len(part) - len(part.lstrip())
                out.append((at + lead, at + lead + len(stripped)))
            at += len(part) + 1
    return out


def unavailable(task: str, what: str, example: str) -> ModelUnavailable:
    prefix = catalog.entry(task).brought
    return ModelUnavailable(
        f"{task} needs a {what} model, and none is deployed here (bundles named {prefix}*). No seq2seq weights ship "
        f"with nlpserve: build a bundle from a checkpoint you bring with `{example}`, then deploy it with "
        "`cdk deploy -c seq2seq_models=<bundle>` (locally: build it into build/models, or point "
        "NLP_EXTRA_MODELS_DIRS at the directory that holds it)",
        details=[{"task": task, "bundle_prefix": prefix, "build": example}])


class Deadline:
    """Called between decoder steps: raises GenerationTimeout once ``seconds`` have passed since it was made."""

    def __init__(self, task: str, seconds: float | None = None):
        self.task = task
        self.seconds = config.settings.generation_budget_s if seconds is None else seconds
        self.started = time.monotonic()

    def __call__(self) -> None:
        if not budget.active():  # the S3 batch path manages its own time (and has no API Gateway in front)
            return
        if self.seconds > 0 and time.monotonic() - self.started > self.seconds:
            raise GenerationTimeout(
                f"{self.task} stopped after {self.seconds:g} s of text generation (NLP_GENERATION_BUDGET_S), before "
                "the API's 30 s limit: send fewer or shorter texts, lower num_beams or max_new_tokens, or use the "
                f"batch path (incoming/{self.task}/)",
                details=[{"budget_s": self.seconds}])


def pack(bundle: Seq2SeqBundle, text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Consecutive sentence spans joined into ``[start, end)`` chunks of ``text`` that each fit the encoder
    (``bundle.max_length`` pieces); a sentence longer than that is first cut to fit (``fit``)."""
    spans, pieces = fit(bundle, text, spans)
    if not spans:
        return []
    chunks, start, used, prev_end = [], spans[0][0], 0, spans[0][1]
    for (s, e), n in zip(spans, pieces):
        if used and used + n > bundle.max_length:
            chunks.append((start, prev_end))
            start, used = s, 0
        used += n
        prev_end = e
    chunks.append((start, prev_end))
    return chunks
