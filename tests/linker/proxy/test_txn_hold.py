"""The transaction rules of a cutover hold, on the filter alone (pure; the broker test is
test_cutover_txn.py): answers encode in every version the filter may give them."""
from __future__ import annotations

import kproto
from kproto import ApiKey, messages
from kproto.errors import ErrorCode
from linker.proxy.filters_chain import Answer, RequestContext, TxnHoldFilter


class _Server:
    def __init__(self) -> None:
        self.holds = {"held": "why"}
        self.txn_draining = {7}
        self.txn_held: set[int] = set()


def _add(version: int, pid: int, topic: str) -> RequestContext:
    Q = messages.AddPartitionsToTxnRequest
    body = Q(v3_and_below_transactional_id=f"t{pid}", v3_and_below_producer_id=pid, v3_and_below_producer_epoch=0,
             v3_and_below_topics=[Q.AddPartitionsToTxnTopic(name=topic, partitions=[0, 1])])
    return RequestContext(ApiKey.ADD_PARTITIONS_TO_TXN, version, 1, None, body, "test")


def test_a_new_transaction_on_a_held_topic_is_held_and_that_producer_with_it():
    server, f = _Server(), TxnHoldFilter()
    for version in range(4):
        answer = f.on_request(server, _add(version, 9, "held"))   # type: ignore[arg-type]
        assert isinstance(answer, Answer)
        codes = {p.partition_error_code for t in answer.body.results_by_topic_v3_and_below
                 for p in t.results_by_partition}
        assert codes == {ErrorCode.CONCURRENT_TRANSACTIONS}
        kproto.encode_response(answer.body, version, 1)
    assert server.txn_held == {9}
    for key, body in ((ApiKey.END_TXN, messages.EndTxnRequest(transactional_id="t9", producer_id=9, committed=True)),
                      (ApiKey.ADD_OFFSETS_TO_TXN, messages.AddOffsetsToTxnRequest(transactional_id="t9", producer_id=9,
                                                                                  group_id="g")),
                      (ApiKey.TXN_OFFSET_COMMIT, messages.TxnOffsetCommitRequest(
                          transactional_id="t9", group_id="g", producer_id=9, topics=[
                              messages.TxnOffsetCommitRequest.TxnOffsetCommitRequestTopic(name="other", partitions=[
                                  messages.TxnOffsetCommitRequest.TxnOffsetCommitRequestPartition(
                                      partition_index=0, committed_offset=5)])]))):
        answer = f.on_request(server, RequestContext(key, 0, 1, None, body, "test"))   # type: ignore[arg-type]
        assert isinstance(answer, Answer), key
        lo, hi = messages.by_key(key, False).VALID_VERSIONS
        for version in range(lo, hi + 1):
            kproto.encode_response(answer.body, version, 1)


def test_a_transaction_open_at_the_hold_and_other_topics_pass():
    server, f = _Server(), TxnHoldFilter()
    assert f.on_request(server, _add(3, 7, "held")) is None     # draining: it may finish   # type: ignore[arg-type]
    assert f.on_request(server, _add(3, 9, "other")) is None    # type: ignore[arg-type]
    server.holds = {}
    assert f.on_request(server, _add(3, 9, "held")) is None     # no hold   # type: ignore[arg-type]
    assert server.txn_held == set()
