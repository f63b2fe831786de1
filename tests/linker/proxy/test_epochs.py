"""The epoch shift of linker/proxy/epochs.py on decoded messages and, for Fetch responses,
on the wire bytes as they pass (pure; the cutover across clusters with real clients is
test_cutover_epochs.py)."""
from __future__ import annotations

import random
import uuid
from typing import Any

import pytest

import kproto
from kproto import ApiKey, messages
from kproto.records import build_batch
from kproto.records.batch import BatchView
from kproto.records.crc import crc_matches

from linker.proxy.epochs import FetchEpochPatcher, lower_request, raise_response, shift_records

SHIFT = 1 << 24


def test_record_batches_get_the_shifted_epoch_and_keep_a_valid_crc():
    a = build_batch([b"a", b"b"], base_offset=0, partition_leader_epoch=0)
    b = build_batch([b"c"], base_offset=2, partition_leader_epoch=3)
    partial = build_batch([b"d" * 100], base_offset=3, partition_leader_epoch=3)[:40]   # a fetch cut mid-batch
    out = shift_records(a + b + partial, SHIFT)
    assert out is not None and len(out) == len(a + b + partial)
    first, second = BatchView(out, 0), BatchView(out, len(a))
    assert (first.partition_leader_epoch, second.partition_leader_epoch) == (SHIFT, SHIFT + 3)
    assert crc_matches(memoryview(out), 0) and crc_matches(memoryview(out), len(a))
    assert int.from_bytes(out[len(a + b) + 12:len(a + b) + 16], "big") == SHIFT + 3   # partial: header only
    assert bytes(out[len(a):len(a) + 8]) == bytes(b[:8])            # nothing else moved
    assert shift_records(None, SHIFT) is None and shift_records(b"", SHIFT) is None


def test_records_in_the_proxys_own_buffer_are_shifted_in_place():
    batch = build_batch([b"a"], base_offset=0, partition_leader_epoch=2)
    frame = bytearray(b"head" + batch)
    view = memoryview(frame)[4:]
    assert shift_records(view, SHIFT) is view                     # no copy
    assert BatchView(frame, 4).partition_leader_epoch == SHIFT + 2 and crc_matches(memoryview(frame), 4)
    readonly = memoryview(bytes(batch))
    out = shift_records(readonly, SHIFT)
    assert out is not readonly and BatchView(out, 0).partition_leader_epoch == SHIFT + 2
    assert BatchView(readonly, 0).partition_leader_epoch == 2        # a buffer not ours is untouched


def test_epochs_from_before_the_switch_are_not_sent_to_the_destination():
    R = messages.OffsetForLeaderEpochRequest
    body = R(topics=[R.OffsetForLeaderTopic(topic="t", partitions=[
        R.OffsetForLeaderPartition(partition=0, current_leader_epoch=SHIFT + 2, leader_epoch=8),   # source's
        R.OffsetForLeaderPartition(partition=1, current_leader_epoch=8, leader_epoch=8),           # all stale
        R.OffsetForLeaderPartition(partition=2, current_leader_epoch=SHIFT + 1, leader_epoch=SHIFT)])])
    assert lower_request(ApiKey.OFFSET_FOR_LEADER_EPOCH, body, SHIFT, lambda t, p: {1: 5}.get(p))
    got = [(p.current_leader_epoch, p.leader_epoch) for p in body.topics[0].partitions]
    # the source's epoch asks for the destination's current one (whose end is the log end)
    assert got == [(2, 2), (-1, 5), (1, 0)]

    C = messages.OffsetCommitRequest
    commit = C(group_id="g", topics=[C.OffsetCommitRequestTopic(name="t", partitions=[
        C.OffsetCommitRequestPartition(partition_index=0, committed_offset=10, committed_leader_epoch=8),
        C.OffsetCommitRequestPartition(partition_index=1, committed_offset=10, committed_leader_epoch=SHIFT + 4),
        C.OffsetCommitRequestPartition(partition_index=2, committed_offset=10, committed_leader_epoch=-1)])])
    assert lower_request(ApiKey.OFFSET_COMMIT, commit, SHIFT, lambda t, p: None)
    assert [p.committed_leader_epoch for p in commit.topics[0].partitions] == [-1, 4, -1]

    F = messages.FetchRequest
    fetch = F(topics=[F.FetchTopic(topic="t", partitions=[
        F.FetchPartition(partition=0, current_leader_epoch=8, fetch_offset=1),
        F.FetchPartition(partition=1, current_leader_epoch=SHIFT, fetch_offset=1)])])
    assert lower_request(ApiKey.FETCH, fetch, SHIFT, lambda t, p: None)
    assert [p.current_leader_epoch for p in fetch.topics[0].partitions] == [-1, 0]


def test_responses_show_epochs_above_the_shift_and_unknown_ones_stay_unknown():
    M = messages.MetadataResponse
    meta = M(topics=[M.MetadataResponseTopic(name="t", partitions=[
        M.MetadataResponsePartition(partition_index=0, leader_id=1, leader_epoch=0),
        M.MetadataResponsePartition(partition_index=1, leader_id=1, leader_epoch=-1)])])
    assert raise_response(ApiKey.METADATA, meta, SHIFT)
    assert [p.leader_epoch for p in meta.topics[0].partitions] == [SHIFT, -1]

    O = messages.OffsetFetchResponse
    fetched = O(groups=[O.OffsetFetchResponseGroup(group_id="g", topics=[O.OffsetFetchResponseTopics(
        name="t", partitions=[O.OffsetFetchResponsePartitions(partition_index=0, committed_offset=5,
                                                              committed_leader_epoch=2)])])])
    assert raise_response(ApiKey.OFFSET_FETCH, fetched, SHIFT)
    assert fetched.groups[0].topics[0].partitions[0].committed_leader_epoch == SHIFT + 2

    unknown = O(topics=[O.OffsetFetchResponseTopic(name="t", partitions=[
        O.OffsetFetchResponsePartition(partition_index=0, committed_offset=5, committed_leader_epoch=-1)])])
    assert not raise_response(ApiKey.OFFSET_FETCH, unknown, SHIFT)   # nothing to re-encode

    Fr = messages.FetchResponse
    data = Fr.PartitionData(partition_index=0, records=build_batch([b"x"], partition_leader_epoch=1))
    data.current_leader.leader_id, data.current_leader.leader_epoch = 1, 1
    fetch = Fr(responses=[Fr.FetchableTopicResponse(topic="t", partitions=[data])])
    assert raise_response(ApiKey.FETCH, fetch, SHIFT)
    assert data.current_leader.leader_epoch == SHIFT + 1 and data.diverging_epoch.epoch == -1
    assert BatchView(data.records, 0).partition_leader_epoch == SHIFT + 1


def test_produce_list_offsets_and_epoch_end_answers_are_raised():
    P = messages.ProduceResponse
    topic = P.TopicProduceResponse(name="t", partition_responses=[P.PartitionProduceResponse(index=0)])
    topic.partition_responses[0].current_leader.leader_epoch = 3        # KIP-951: NOT_LEADER_OR_FOLLOWER
    assert raise_response(ApiKey.PRODUCE, P(responses=[topic]), SHIFT)
    assert topic.partition_responses[0].current_leader.leader_epoch == SHIFT + 3

    L = messages.ListOffsetsResponse
    listed = L(topics=[L.ListOffsetsTopicResponse(name="t", partitions=[
        L.ListOffsetsPartitionResponse(partition_index=0, offset=7, leader_epoch=2)])])
    assert raise_response(ApiKey.LIST_OFFSETS, listed, SHIFT)
    assert listed.topics[0].partitions[0].leader_epoch == SHIFT + 2

    O = messages.OffsetForLeaderEpochResponse
    ends = O(topics=[O.OffsetForLeaderTopicResult(topic="t", partitions=[
        O.EpochEndOffset(partition=0, leader_epoch=2, end_offset=9),
        O.EpochEndOffset(partition=1, leader_epoch=-1, end_offset=-1)])])
    assert raise_response(ApiKey.OFFSET_FOR_LEADER_EPOCH, ends, SHIFT)
    assert [(p.leader_epoch, p.end_offset) for p in ends.topics[0].partitions] == [(SHIFT + 2, 9), (-1, -1)]


def _fetch_response(version: int, rnd: random.Random) -> Any:
    F = messages.FetchResponse
    topics = []
    for t in range(rnd.randint(0, 3)):
        partitions = []
        for p in range(rnd.randint(0, 3)):
            batches, offset = b"", 0
            for _ in range(rnd.randint(0, 4)):
                values = [bytes([rnd.randint(0, 255)]) * rnd.randint(0, 3000) for _ in range(rnd.randint(1, 3))]
                batches += build_batch(values, base_offset=offset, partition_leader_epoch=rnd.choice([-1, 0, 5, 300]))
                offset += len(values)
            if batches and rnd.random() < 0.3:
                batches = batches[:rnd.randint(1, len(batches))]          # a fetch cut mid-batch
            part = F.PartitionData(partition_index=p, high_watermark=offset, records=batches if batches else None,
                                   aborted_transactions=[F.AbortedTransaction(producer_id=rnd.randint(0, 9),
                                                                              first_offset=0)] * rnd.randint(0, 2))
            if version >= 12 and rnd.random() < 0.5:
                part.current_leader = F.LeaderIdAndEpoch(leader_id=1, leader_epoch=rnd.choice([-1, 0, 7]))
            if version >= 12 and rnd.random() < 0.5:
                part.diverging_epoch = F.EpochEndOffset(epoch=rnd.choice([-1, 3]), end_offset=10)
            partitions.append(part)
        topics.append(F.FetchableTopicResponse(topic=f"topic-{t}" * rnd.randint(1, 20), topic_id=uuid.UUID(int=t + 1),
                                               partitions=partitions))
    return F(throttle_time_ms=1, session_id=9 if version >= 7 else 0, responses=topics)


@pytest.mark.parametrize("version", range(messages.FetchResponse.VALID_VERSIONS[0],
                                          messages.FetchResponse.VALID_VERSIONS[1] + 1))
def test_fetch_epochs_raised_as_the_bytes_pass_match_the_decoded_rewrite(version):
    """FetchEpochPatcher on the wire bytes, cut anywhere, gives what decoding, raise_response
    and encoding give, with the same length (so the response can be relayed as it arrives)."""
    rnd = random.Random(version)
    for case in range(60):
        body = _fetch_response(version, rnd)
        frame = b"".join(bytes(c) for c in kproto.encode_response(body, version, 77))[4:]
        _, expected = kproto.decode_response(ApiKey.FETCH, version, frame)
        raise_response(ApiKey.FETCH, expected, SHIFT)
        rest = bytearray(frame[4:])
        cuts = sorted(rnd.sample(range(len(rest) + 1), min(len(rest) + 1, rnd.choice([0, 1, 3, 30, 300]))))
        patcher = FetchEpochPatcher(version, SHIFT)
        out, start = [], 0
        for cut in [*cuts, len(rest)]:
            out += patcher.feed(memoryview(rest)[start:cut])
            start = cut
        out += patcher.close()
        relayed = frame[:4] + b"".join(bytes(c) for c in out)
        assert len(relayed) == len(frame), case
        _, got = kproto.decode_response(ApiKey.FETCH, version, relayed)
        assert got == expected, case
