"""The manifest.json of a model bundle: what the graph expects and where the weights came from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Source(BaseModel):
    model_config = ConfigDict(extra="allow")

    package: str | None = None
    model: str | None = None
    license: str | None = None
    attribution: str | None = None
    url: str | None = None


class FileInfo(BaseModel):
    sha256: str
    bytes: int


class Manifest(BaseModel):
    model_config = ConfigDict(extra="allow", protected_namespaces=())

    name: str
    version: str = "1.0.0"
    kind: Literal["embedding", "sequence-classification", "token-classification", "seq2seq"]
    model_file: str = "model.onnx"
    tokenizer_file: str = "tokenizer.json"
    inputs: list[str] = Field(default_factory=lambda: ["input_ids", "attention_mask", "token_type_ids"])
    output: str | None = None  # the graph output the tasks read (seq2seq bundles: None)
    max_length: int = 256
    labels: list[str] | None = None
    embedding_dim: int | None = None
    #: sequence classifiers with an 'oos' label: the default out-of-scope rejection threshold (top probability)
    oos_threshold: float | None = None
    #: what the graph reads from token_type_ids: "segment" (BERT's sentence A/B, always 0 here) or "word_shape"
    #: (each piece's word: 0 lower-case or no letters, 1 capitalised, 2 all capitals, 3 mixed; ``tasks.bio``)
    token_types: Literal["segment", "word_shape"] = "segment"
    #: seq2seq bundles (``nlpbuild.seq2seq_bundle``; decoded by ``nlpserve.runtime.seq2seq``)
    task: str | None = None  # "translate" | "summarize"
    decoder_file: str | None = None
    target_tokenizer_file: str | None = None
    source_language: str | None = None
    target_language: str | None = None
    input_prefix: str = ""
    generation: dict[str, Any] | None = None
    architecture: dict[str, Any] | None = None
    description: str = ""
    source: Source = Field(default_factory=Source)
    quantization: str | None = None
    quality: dict[str, Any] = Field(default_factory=dict)
    files: dict[str, FileInfo] = Field(default_factory=dict)
    build: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def load(cls, bundle_dir: Path) -> Manifest:
        return cls.model_validate(json.loads((bundle_dir / "manifest.json").read_text(encoding="utf-8")))

    def card(self) -> dict[str, Any]:
        """The public model card served by GET /v1/models (no file hashes or build internals)."""
        return {
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "description": self.description,
            "max_length": self.max_length,
            "labels": self.labels,
            "embedding_dim": self.embedding_dim,
            **({"oos_threshold": self.oos_threshold} if self.oos_threshold is not None else {}),
            **({"task": self.task, "source_language": self.source_language, "target_language": self.target_language,
                "generation": self.generation} if self.kind == "seq2seq" else {}),
            "quantization": self.quantization,
            "source": self.source.model_dump(exclude_none=True),
            "quality": self.quality,
        }
