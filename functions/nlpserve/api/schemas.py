"""Request and response models (pydantic v2); the OpenAPI document is generated from these."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator
from pydantic_core import PydanticCustomError

from nlpserve.tasks import Task

R = TypeVar("R")

EXAMPLES: dict[str, Any] = {
    "sentiment": "I love this movie",
    "classify": "connect me to a person",
    "ner": "Contact Jane Doe at jane.doe@example.com or +1 415 555 0100.",
    "redact": "Contact Jane Doe at jane.doe@example.com or +1 415 555 0100.",
    "embed": ["A man is eating food.", "Someone is having a meal."],
    "summarize": "The city council met on Tuesday. It approved a new budget for parks. "
    "Residents had asked for more green space for years. The vote was unanimous. "
    "Work on the first park begins in spring.",
    "language": ["Das Paket ist heute angekommen.", "The parcel arrived today."],
    "classify-<model>": "I was charged twice for my subscription this month.",
    "entities": "Northwind Bank opened an office in Lagos on Monday, hiring 40 engineers for $2 million.",
    "translate": "Where is my parcel? It should have arrived on Monday.",
}


class ModelRef(BaseModel):
    name: str
    version: str


class TaskResponse(BaseModel, Generic[R]):
    task: str
    model: ModelRef
    results: list[R] = Field(description="One result per input, in input order.")


class ErrorResponse(BaseModel):
    error: str = Field(examples=["item 0 is empty or whitespace only"])
    error_type: str = Field(examples=["empty_input"])
    details: list[Any] | None = None


def _check_inputs(value: Any) -> Any:
    """One clear message per mistake instead of pydantic's per-union-branch list."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise PydanticCustomError(
                    "string_type", "item {index} is {kind}, expected a string", {"index": i, "kind": _kind(item)}
                )
        return value
    raise PydanticCustomError(
        "inputs_type", "inputs must be a string or a list of strings, got {kind}", {"kind": _kind(value)}
    )


def _kind(value: Any) -> str:
    return "null" if value is None else {dict: "an object", list: "a list", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


class TaskRequest(BaseModel):
    @field_validator("inputs", mode="before", check_fields=False)
    @classmethod
    def _inputs(cls, value: Any) -> Any:
        return _check_inputs(value)


def request_model(task: type[Task]) -> type[BaseModel]:
    """`{"inputs": str | [str, ...], "parameters": {...task options...}}` for one task."""
    model = create_model(
        f"{task.__name__.removesuffix('Task')}Request",
        __base__=TaskRequest,
        inputs=(
            str | list[str],
            Field(description="One text or a list of texts (at most NLP_MAX_ITEMS).", examples=[EXAMPLES[task.name]]),
        ),
        parameters=(task.Params, Field(default_factory=task.Params)),
    )
    model.model_config.update(extra="forbid", strict=True, json_schema_extra={"examples": [{"inputs": EXAMPLES[task.name]}]})
    model.model_rebuild(force=True)
    return model


class SimilarityRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [{"source": "How do I reset my password?", "targets": ["I forgot my password", "Nice weather today"]}]
        },
    )
    source: str
    targets: list[str] = Field(min_length=1)

    @field_validator("targets", mode="before")
    @classmethod
    def _targets(cls, value: Any) -> Any:
        return _check_inputs(value) if isinstance(value, list) else value


class SimilarityResponse(BaseModel):
    task: str = "similarity"
    model: ModelRef
    scores: list[float] = Field(description="Cosine similarity of source to each target, in order.")
    truncated: list[bool] = Field(
        default_factory=list,
        description="Per target, in order: true when the target was longer than the model window (256 word "
        "pieces) and only its start was compared.",
    )
    source_truncated: bool = Field(False, description="True when the source was cut to the model window.")

    @model_validator(mode="before")
    @classmethod
    def _flags_from_scores(cls, data: Any) -> Any:
        """`EmbedTask.similarity` returns scores that carry their truncation flags: lift them out."""
        if isinstance(data, dict) and hasattr(data.get("scores"), "source_truncated"):
            scores = data["scores"]
            data = {"truncated": list(scores.truncated), "source_truncated": scores.source_truncated, **data}
        return data


class HealthResponse(BaseModel):
    status: str = Field(examples=["ok"])
    tasks: list[str]
    models_loaded: list[str]
    version: str
