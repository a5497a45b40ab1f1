"""Translation with a seq2seq bundle the user brings (``translate-<source>-<target>``, built by
``python -m nlpbuild seq2seq``; decoded by ``nlpserve.runtime.seq2seq``).

The language pair: ``target_language`` (default: the only target the deployed bundles have) and
``source_language`` (default: detected per text by py3langid among the sources that have a bundle into the target).
Each text is split into sentences (``tasks.sentences``, nupunkt) and at line breaks (``generation.lines``), and a
sentence longer than the encoder's ``max_length`` pieces is cut at word boundaries into pieces that fit
(``generation.fit``). Every sentence of the request is translated in one length-sorted batch (sentences translate
better alone than as a long input, and a batch wastes less padding than a paragraph); each translation stops at
``MAX_LENGTH_FACTOR`` x its source + 10 pieces, and the translations are joined back with the whitespace around
and between the source sentences.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import Field, field_validator

from nlpserve.errors import InvalidInput, UnsupportedLanguage
from nlpserve.runtime.seq2seq import Seq2SeqBundle, max_length_cap
from nlpserve.tasks import generation
from nlpserve.tasks.base import DocumentOutput, LanguageGuardParams, Task, TaskResult
from nlpserve.tasks.sentences import split_sentences

BUILD_EXAMPLE = ("python -m nlpbuild seq2seq ./opus-mt-en-de --task translate --source-language en "
                 "--target-language de")
_used: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("translate_bundles", default=())


#: A translation stops at 3 x its source's pieces + 10 (marian-nmt's ``--max-length-factor`` default): longer
#: only when the model loops, and it bounds the work a request can ask for.
MAX_LENGTH_FACTOR = 3.0


class TranslateParams(generation.GenerationParams, LanguageGuardParams):
    source_language: str | None = Field(
        None, min_length=2, max_length=3, description="ISO 639-1 code of the input (default: detected per text "
        "among the sources that have a model into the target).")
    target_language: str | None = Field(
        None, min_length=2, max_length=3, description="ISO 639-1 code of the output (default: the only target the "
        "deployed models have).")

    @field_validator("source_language", "target_language")
    @classmethod
    def _lower_case(cls, code: str | None) -> str | None:
        return code.lower() if code is not None else None


class TranslateResult(TaskResult):
    translation: str
    source_language: str
    target_language: str
    sentences: int = Field(description="Sentences translated (each one model input).")
    length_capped: bool = Field(False, description="A sentence's translation ran into max_new_tokens and stops "
                                "there.")


class TranslateTask(Task[TranslateParams, TranslateResult]):
    name = "translate"
    description = "Translate text with a seq2seq model you bring (Marian / opus-mt, T5)."
    document_level = True
    Params = TranslateParams
    Result = TranslateResult

    def warm(self) -> TranslateTask:
        generation.warm(self.name)
        split_sentences("The sentence model loads once. Then it is ready.")
        return self

    def pairs(self) -> dict[tuple[str, str], str]:
        """(source, target) -> bundle name, for every present translate bundle."""
        out = {}
        for name in generation.brought_bundles(self.name):
            manifest = generation.load(name).manifest
            if manifest.source_language and manifest.target_language:
                out.setdefault((manifest.source_language, manifest.target_language), name)
        return out

    def _choose(self, texts: Sequence[str], params: TranslateParams) -> tuple[list[str], list[str | None]]:
        """The bundle of each text, and each text's flag: the language it is confidently written in when that is
        none of the deployed sources (only when ``source_language`` is not given; with
        ``reject_other_languages``, a 422 instead). InvalidInput / UnsupportedLanguage (422) for a pair no bundle
        has."""
        pairs = self.pairs()
        if not pairs:
            raise generation.unavailable(self.name, "translation", BUILD_EXAMPLE)
        listed = ", ".join(f"{s}->{t}" for s, t in sorted(pairs))
        targets = sorted({t for _, t in pairs})
        target = params.target_language
        if target is None:
            if len(targets) > 1:
                raise InvalidInput(f"give target_language: the deployed models translate into {', '.join(targets)} "
                                   f"({listed})", details=[{"field": "target_language", "available": targets}])
            target = targets[0]
        sources = sorted(s for s, t in pairs if t == target)
        if not sources:
            raise UnsupportedLanguage(f"no model translates into '{target}' here; deployed pairs: {listed}",
                                      details=[{"target_language": target, "available": listed}])
        if params.source_language is not None:
            if params.source_language not in sources:
                raise UnsupportedLanguage(
                    f"no model translates '{params.source_language}' into '{target}' here; deployed pairs: {listed}",
                    details=[{"source_language": params.source_language, "target_language": target}])
            return [pairs[(params.source_language, target)]] * len(texts), [None] * len(texts)
        from nlpserve.tasks import language

        flags = language.guard(self.name, texts, sources, params.reject_other_languages)
        if len(sources) == 1:
            return [pairs[(sources[0], target)]] * len(texts), flags
        chosen = []
        for text in texts:  # the most probable of the sources that have a model into the target
            ranked = dict(language.identifier().rank(text))
            chosen.append(pairs[(max(sources, key=lambda s: ranked.get(s, 0.0)), target)])
        return chosen, flags

    def _run(self, texts: list[str], params: TranslateParams) -> list[TranslateResult]:
        bundles, flags = self._choose(texts, params)
        _used.set(tuple(dict.fromkeys(bundles)))
        deadline = generation.Deadline(self.name)
        jobs = []  # per bundle: the texts it translates, their sentence spans, the decoding settings
        for name in dict.fromkeys(bundles):
            bundle = generation.load(name)
            mine = [i for i, b in enumerate(bundles) if b == name]
            fitted = {i: generation.fit(bundle, texts[i], generation.lines(
                texts[i], split_sentences(texts[i]) or [(0, len(texts[i]))])) for i in mine}
            spans = {i: found for i, (found, _) in fitted.items()}
            pieces = [n for _, counts in fitted.values() for n in counts]
            jobs.append((bundle, mine, spans, pieces, generation.generation_config(bundle, params)))
        # the whole request's worst case, before any decoding
        generation.enforce_budget(self.name, sum(
            max_length_cap(n, settings.max_new_tokens, MAX_LENGTH_FACTOR) * settings.num_beams
            for _, _, _, pieces, settings in jobs for n in pieces))
        results: list[TranslateResult | None] = [None] * len(texts)
        for bundle, mine, spans, _, settings in jobs:  # one length-sorted batch of every sentence per bundle
            sentences = [texts[i][s:e] for i in mine for s, e in spans[i]]
            outputs = bundle.generate(sentences, settings, deadline=deadline, length_factor=MAX_LENGTH_FACTOR)
            at = 0
            for i in mine:
                n = len(spans[i])
                results[i] = self._join(texts[i], spans[i], outputs[at:at + n], bundle)
                results[i].language = flags[i]
                at += n
        return results  # type: ignore[return-value]

    @staticmethod
    def _join(text: str, spans: list[tuple[int, int]], outputs: list, bundle: Seq2SeqBundle) -> TranslateResult:
        parts = [text[:spans[0][0]]]  # the whitespace around and between sentences is kept as it was
        for k, ((start, _), out) in enumerate(zip(spans, outputs)):
            if k:
                gap = text[spans[k - 1][1]:start]
                parts.append(gap if gap else " ")
            parts.append(out.text)
        parts.append(text[spans[-1][1]:])
        manifest = bundle.manifest
        return TranslateResult(translation="".join(parts), source_language=manifest.source_language or "",
                               target_language=manifest.target_language or "", sentences=len(spans),
                               truncated=any(o.truncated for o in outputs),
                               length_capped=any(o.length_capped for o in outputs))

    def document(self, text: str, spans: Sequence[tuple[int, int]], params: TranslateParams,  # type: ignore[override]
                 run_segments: Callable[[], list[TranslateResult]], *, quote_text: bool = True) -> DocumentOutput:
        """The translated document (segments joined with the whitespace between them) and a report."""
        results = run_segments()
        pieces = []
        for k, ((start, _end), res) in enumerate(zip(spans, results)):
            if k:
                pieces.append(text[spans[k - 1][1]:start])
            pieces.append(res.translation)
        first = results[0] if results else None
        return DocumentOutput("".join(pieces), {
            "source_language": first.source_language if first else None,
            "target_language": first.target_language if first else None,
            "segments": len(results), "sentences": sum(r.sentences for r in results),
            "truncated": any(r.truncated for r in results), "length_capped": any(r.length_capped for r in results),
            "models": sorted(_used.get()),
        })

    def model_ref(self) -> tuple[str, str]:
        used = _used.get()
        if not used:
            return "translate", "none"
        versions = {generation.load(n).manifest.version for n in used}
        return ",".join(used), ",".join(sorted(versions))

    def model_info(self) -> dict[str, Any]:
        names = generation.brought_bundles(self.name)
        if not names:
            raise generation.unavailable(self.name, "translation", BUILD_EXAMPLE)
        return {"task": self.name, "bundle": names[0], **generation.load(names[0]).manifest.card(),
                "bundles": [{"bundle": n, **generation.load(n).manifest.card()} for n in names]}
