"""One object version, once its key, HEAD and metadata are read: what every batch job works on.

An *object version* is (key, ETag, scoring options): the same bytes scored with other options (metadata
``text-field``, ``id-field``, ``csv-text-column``, ``params``) is another job with its own ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from nlpserve.batch.chain import Chain
from nlpserve.batch.events import Job
from nlpserve.batch.keys import InputKey, OutputKeys


@dataclass
class ObjectVersion:
    job: Job
    inp: InputKey
    keys: OutputKeys
    source: dict[str, Any]  # bucket, key, etag, version_id, size (as the summary reports it)
    task: Any
    params: Any
    options: dict[str, Any]
    options_id: str

    @property
    def etag(self) -> str:
        return str(self.source["etag"])

    @property
    def bucket(self) -> str:
        return self.job.bucket

    @property
    def params_json(self) -> dict[str, Any]:
        return self.params.model_dump(mode="json")

    @property
    def ledger_key(self) -> str:
        return f"{self.keys.work}{self.options_id}.ledger.json"

    def chain_prefix(self, chain: Chain) -> str:
        """Where the chain's spilled tails live (deleted when it is done)."""
        return f"{self.keys.work}{chain.chain_id}/"

    def output_metadata(self, chain: Chain) -> dict[str, str]:
        """Metadata of every output: the source, and the chain that wrote it (recognises a finished commit)."""
        return {"source-etag": self.etag, "source-key": quote(self.job.key), "chain": chain.chain_id}

    def hint(self, chain: Chain | None) -> dict[str, Any]:
        """The body of a continuation message for this object version (see ``checkpoint.py``)."""
        return {"bucket": self.bucket, "key": self.job.key, "etag": self.etag, "version_id": self.source["version_id"],
                "ledger": self.ledger_key, "chain": chain.chain_id if chain else None,
                "seq": chain.seq if chain else None}


__all__ = ["ObjectVersion"]
