"""The task interface every entry point uses: texts in, typed results out, input order kept."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from nlpserve import catalog, config
from nlpserve.errors import EmptyInput, InvalidInput, TextTooLong
from nlpserve.runtime import Bundle, load_bundle
from nlpserve.text import is_blank, lone_surrogate, surrogate_message

P = TypeVar("P", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)


class TaskParams(BaseModel):
    """Task options. Strict: a value of the wrong JSON type ("3" for an int, 0 for a bool) is rejected, never
    coerced, from every entry point (API, batch object metadata, CLI); unknown options are rejected too."""

    model_config = ConfigDict(extra="forbid", strict=True)


class LanguageGuardParams(TaskParams):
    """Options of a task whose model knows only some languages (``languages`` in ``nlpserve.catalog``)."""

    reject_other_languages: bool = Field(
        False, description="Reject a text detected as a language the model was not trained on with 422 "
        "unsupported_language, instead of scoring it and flagging its result's `language`.")


class TaskResult(BaseModel):
    truncated: bool = False
    language: str | None = Field(
        None, description="Only when the text is confidently (other languages than the model's together >= 0.99) in a language the model was "
        "not trained on: that language's ISO 639-1 code. The scores of such a text are unreliable.")


@dataclass
class DocumentOutput:
    """One whole document's result (batch ``incoming/<task>/docs/`` and ``nlpserve batch score --document``).

    ``text``: the rewritten document, for tasks whose catalogue ``Documents`` entry has ``rewrites`` (redact),
    else None; ``report``: the JSON report written next to it (or alone).
    """

    text: str | None
    report: dict[str, Any]


class Task(Generic[P, R]):
    """A task pipeline. Subclasses set the class attributes and implement `_run`."""

    name: ClassVar[str]
    bundle_name: ClassVar[str | None]  # from the catalogue (nlpserve.catalog) unless the class sets its own
    languages: ClassVar[tuple[str, ...] | None] = None  # from the catalogue: None = any language
    description: ClassVar[str]
    document_level: ClassVar[bool] = False  # True: a text may be a whole document (windowed inside)
    windowed: ClassVar[bool] = False  # True: texts past the model window are read in overlapping windows
    Params: ClassVar[type[BaseModel]]
    Result: ClassVar[type[BaseModel]]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if name in catalog.task_names():
            if "bundle_name" not in cls.__dict__:
                cls.bundle_name = catalog.bundle_of(name)  # the one record of task -> bundle
            cls.languages = catalog.entry(name).languages

    def __init__(self, bundle: Bundle | None = None):
        self._bundle = bundle

    @property
    def bundle(self) -> Bundle:
        if self._bundle is None:
            self._bundle = load_bundle(self.bundle_name)
        return self._bundle

    def warm(self) -> Task[P, R]:
        """Load the model now (at Lambda init), not on the first request."""
        _ = self.bundle
        return self

    @property
    def max_text_bytes(self) -> int:
        return config.settings.max_document_bytes if self.document_level else config.settings.max_text_bytes

    def validate(self, texts: Sequence[Any] | str, field: str | None = None) -> list[str]:
        """Reject what cannot be scored, naming the offending item; shared by API, batch and CLI.

        Each text must be a string with something visible in it (``is_blank``: whitespace, zero-width,
        bidi and control characters alone are empty, 400) and valid Unicode (a lone surrogate is a 422
        naming the item and the character position), within the byte limit (413). ``field`` names the
        request field in messages (``targets item 2``; a single string: ``source``).
        """
        single = isinstance(texts, str)
        if single:
            texts = [texts]
        if len(texts) == 0:
            raise EmptyInput("no texts given: send at least one non-empty string")
        limit = self.max_text_bytes
        for i, text in enumerate(texts):
            where = field if single and field else f"{field} item {i}" if field else f"item {i}"
            at = {"field": field, "index": i} if field else {"index": i}
            if not isinstance(text, str):
                raise InvalidInput(f"{where} is {type(text).__name__}, expected a string", details=[at])
            position = lone_surrogate(text)
            if position is not None:
                raise InvalidInput(f"{where} {surrogate_message(text, position)}", details=[{**at, "position": position}])
            if is_blank(text):
                raise EmptyInput(
                    f"{where} is empty or has no visible characters (only whitespace, zero-width or control characters)",
                    details=[at],
                )
            size = len(text.encode("utf-8"))
            if size > limit:
                raise TextTooLong(
                    f"{where} is {size} bytes; the limit for {self.name} is {limit} bytes",
                    details=[{**at, "bytes": size, "limit": limit}],
                )
        return list(texts)

    def run(self, texts: Sequence[str], params: P | None = None) -> list[R]:
        checked = self.validate(texts)
        from nlpserve.tasks import budget  # here, not at the top: budget imports the task classes

        budget.check(self, checked)  # 413 request_too_expensive before any model work
        params = params if params is not None else self.Params()
        flags = self.check_languages(checked, params)
        results = self._run(checked, params)  # type: ignore[arg-type]
        for result, language in zip(results, flags):
            if language is not None:
                result.language = language
        return results

    def check_languages(self, texts: Sequence[str], params: Any) -> list[str | None]:
        """Per text, the other language it is confidently written in (None: a known language, or the task takes
        any); raises UnsupportedLanguage (422) when ``params.reject_other_languages`` is set and one is."""
        if self.languages is None:
            return [None] * len(texts)
        from nlpserve.tasks import language  # here: the language module imports this one

        return language.guard(self.name, texts, self.languages, bool(getattr(params, "reject_other_languages", False)))

    def _run(self, texts: list[str], params: P) -> list[R]:
        raise NotImplementedError

    def document(self, text: str, spans: Sequence[tuple[int, int]], params: P,
                 run_segments: Callable[[], list[R]], *, quote_text: bool = True) -> DocumentOutput:
        """Stitch one document's result from its segments, with offsets into the whole ``text``.

        ``spans``: character ``[start, end)`` segments that tile ``text``, each within ``max_text_bytes``;
        ``run_segments()``: this task's result for each segment, in order (the caller runs them, so it can
        stop between segments when its time runs out); ``quote_text`` False: the report leaves out the input's
        own text (personal data). Tasks with a document mode (``documents`` in the catalogue) override this;
        raises NotImplementedError otherwise.
        """
        raise NotImplementedError(f"{self.name} has no document mode")

    def model_ref(self) -> tuple[str, str]:
        """(name, version) of the model behind the task, as API responses name it."""
        manifest = self.bundle.manifest
        return manifest.name, manifest.version

    def model_info(self) -> dict[str, Any]:
        return {"task": self.name, "bundle": self.bundle_name, **self.bundle.manifest.card()}


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = x - x.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)
