"""Promote while a source transaction is open (issue 16).

The open source transaction is replayed into an open destination transaction. Promote must not
end it itself (an ABORT or COMMIT written by the destination coordinator at the log end then is
a marker the source does not have there): it waits, with the partition named in the state topic
and in the command's error if it gives up, until the source's marker is replayed at its offset.
Judged without linker code (``txn_judge``, ``tests/checker.py``).
"""
from __future__ import annotations

import concurrent.futures
import time
from typing import Any

from kafkabed.producers import make_records, produce
from linker.lifecycle.commands import CommandError
from linker.lifecycle.records import TopicState

from tests.checker import LATEST, READ_COMMITTED, RawCluster, read_log
from ..mirror.test_mirror_transactions import send, txn_producer
from ..mirror.txn_judge import assert_same
from .helpers import Linker, command, link_config, state_of

_TRANSACTIONAL = 0x10


def _ends(cluster: Any, topic: str) -> tuple[int, int]:
    """(log end, last stable offset)."""
    with RawCluster(cluster.bootstrap) as c:
        return c.list_offset(topic, 0, LATEST), c.list_offset(topic, 0, LATEST, READ_COMMITTED)


def _reason(cfg: Any, topic: str) -> str:
    rec = state_of(cfg).topics.get(topic)
    return rec.reason if rec is not None and rec.by == "linker" else ""


def test_promote_waits_for_an_open_source_transaction_and_replays_its_marker_at_the_source_offset(
        source, destination, topic_name):
    """~10 s: a first promote gives up (2 s) naming the open transaction's partition and writes no
    marker; the source commits; the linker replays the COMMIT at the source's offset and finishes
    the promote; a new transactional producer on the destination gets an id past the replay ids."""
    source.create_topic(topic_name)
    produce(source, topic_name, make_records(2, prefix="before"))
    p = txn_producer(source)
    p.begin_transaction()
    send(p, topic_name, make_records(3, prefix="open"))                  # offsets 2..4, open
    cfg = link_config(source, destination, f"ptx-{topic_name[-8:]}", names=[topic_name],
                      lifecycle={"promote_timeout_ms": 2000})
    with Linker(cfg) as linker:
        linker.wait(lambda: linker.acked(topic_name) == {0: 5}, why="the open transaction mirrored")
        assert _ends(destination, topic_name) == (5, 2)   # held at the transaction's first offset, as on the source
        try:
            command(cfg, "promote", [topic_name])
            raise AssertionError("promote finished while a source transaction was open")
        except CommandError as exc:
            message = str(exc)
        assert "partition 0: a source transaction is open" in message, message
        assert "a source transaction is open" in _reason(cfg, topic_name)
        assert _ends(destination, topic_name) == (5, 2)   # no marker of the destination's own
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            again = pool.submit(command, cfg, "promote", [topic_name])
            send(p, topic_name, make_records(1, prefix="late"))          # offset 5, same transaction
            p.commit_transaction(30)                                    # its COMMIT at 6
            deadline = time.monotonic() + 60
            while True:
                try:
                    (result,) = again.result(timeout=max(0.1, deadline - time.monotonic()))
                    break
                except CommandError:   # gave up after 2 s before the marker was replayed: ask again
                    assert time.monotonic() < deadline
                    again = pool.submit(command, cfg, "promote", [topic_name])
    assert result.state is TopicState.STOPPED and result.offsets == {0: 7}, result.line()
    assert_same(source, destination, topic_name, 1, committed=6, everything=6)

    with RawCluster(destination.bootstrap) as c:
        replay_ids = {b.producer_id for b in read_log(c, topic_name, 0).batches if b.attributes & _TRANSACTIONAL}
    assert replay_ids, "no replayed transactional batch on the destination"
    q = txn_producer(destination)
    q.begin_transaction()
    send(q, topic_name, make_records(2, prefix="after-promote"))
    q.commit_transaction(30)
    with RawCluster(destination.bootstrap) as c:
        new = [b for b in read_log(c, topic_name, 0).batches if b.base_offset >= 7]
    assert new and all(b.producer_id > max(replay_ids) for b in new), (replay_ids, [b.producer_id for b in new])
    assert _ends(destination, topic_name) == (10, 10)
