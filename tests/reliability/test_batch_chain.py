"""The commit protocol's invariants, tested on ``batch/chain.py`` directly (moto S3 conditional writes)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from nlpserve.batch.chain import Chain, LedgerStore, Phase, Refusal, options_hash
from nlpserve.batch.errors import LeaseLost

pytestmark = pytest.mark.reliability
BUCKET = "nlp-chain"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[LedgerStore]:
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield LedgerStore(s3, BUCKET, "_work/sentiment/a.jsonl/etag/abc.ledger.json")


def acquire(store: LedgerStore, clock: Clock, lease_s: float = 100.0) -> tuple[Chain | None, Refusal | None]:
    return Chain.acquire(store, {"key": "incoming/sentiment/a.jsonl"}, lease_s=lambda: lease_s, clock=clock)


def test_one_writer_the_second_acquirer_is_refused_while_the_lease_is_live(store: LedgerStore) -> None:
    clock = Clock()
    first, _ = acquire(store, clock)
    second, why = acquire(store, clock)
    assert first is not None and second is None and why is Refusal.BUSY


def test_two_creators_racing_exactly_one_wins(store: LedgerStore) -> None:
    body: dict[str, Any] = {"phase": "running", "owner": "a"}
    assert store.create(body) is not None
    assert store.create({**body, "owner": "b"}) is None


def test_an_expired_lease_is_taken_over_with_the_durable_progress(store: LedgerStore) -> None:
    clock = Clock()
    first, _ = acquire(store, clock)
    assert first is not None
    first.save(position={"offset": 120, "line": 3, "header": None})
    clock.now += 101  # the holder died; its lease ran out
    second, _ = acquire(store, clock)
    assert second is not None and second.resumed
    assert second.body["position"] == {"offset": 120, "line": 3, "header": None}
    assert second.chain_id == first.chain_id and second.body["invocations"] == 2


def test_a_zombie_holder_cannot_write_after_a_takeover(store: LedgerStore) -> None:
    clock = Clock()
    first, _ = acquire(store, clock)
    clock.now += 101
    second, _ = acquire(store, clock)
    assert first is not None and second is not None
    with pytest.raises(LeaseLost):
        first.save(position={"offset": 999, "line": 9, "header": None})
    assert store.read().body["owner"] == second.owner  # type: ignore[union-attr]


def test_a_released_lease_is_taken_at_once_and_done_is_final(store: LedgerStore) -> None:
    clock = Clock()
    first, _ = acquire(store, clock)
    assert first is not None
    first.save(release=True)
    second, _ = acquire(store, clock)
    assert second is not None
    second.finish("complete")
    third, why = acquire(store, clock)
    assert third is None and why is Refusal.DONE
    assert store.read().body["phase"] == Phase.DONE.value  # type: ignore[union-attr]


def test_a_write_whose_answer_was_lost_is_recognised_as_ours(store: LedgerStore) -> None:
    clock = Clock()
    chain, _ = acquire(store, clock)
    assert chain is not None
    body = {**chain.body, "seq": chain.seq + 1, "owner": chain.owner, "note": "written, answer lost"}
    store.swap(chain.snap, body)  # the first attempt succeeded on the server...
    again = store.swap(chain.snap, body)  # ...and the SDK's retry fails the If-Match against our own write
    assert again is not None and again.body == body
    assert store.swap(chain.snap, {**body, "note": "someone else"}) is None


def test_restart_forgets_progress_under_a_new_chain_id(store: LedgerStore) -> None:
    clock = Clock()
    chain, _ = acquire(store, clock)
    assert chain is not None
    old = chain.chain_id
    chain.save(position={"offset": 10, "line": 1, "header": None}, uploads={"results": {}})
    chain.restart()
    assert chain.chain_id != old and chain.body["position"] is None and chain.body["restarts"] == 1


def test_the_options_hash_separates_jobs_on_the_same_bytes() -> None:
    a = options_hash({"text_field": "text"}, {})
    assert a == options_hash({"text_field": "text"}, {})
    assert a != options_hash({"text_field": "review"}, {})
    assert a != options_hash({"text_field": "text"}, {"return_all_scores": True})
