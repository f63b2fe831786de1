"""Failback's pure parts: the reverse link file, the export format, the loss lines."""
from __future__ import annotations

import base64
import json
import tomllib

import pytest

from kproto.records.record import Record
from linker.lifecycle.reverse_link import dumps, reverse_document
from linker.lifecycle.tail_diff import PartitionDiff
from linker.lifecycle.tail_export import TailExport, record_line
from linker.settings import ConfigError, parse_config

FORWARD = {
    "name": "eu-to-us",
    "source": {"bootstrap_servers": ["eu:9092"], "request_timeout_ms": 5000, "security_protocol": "SASL_PLAINTEXT",
               "sasl": {"mechanism": "SCRAM-SHA-256", "username": "eu-linker", "password": "p\"w"}},
    "destination": {"bootstrap_servers": ["us:9092"]},
    "topics": {"include": ["orders.*"], "exclude": ["orders-tmp"]},
    "mirror": {"fetch_max_wait_ms": 100},
    "lifecycle": {"state_topic": "__linker-custom-state", "manage_acls": True},
    "proxy": {"listen": "127.0.0.1:9192", "front": "destination"},
}


def test_reverse_link_swaps_the_clusters_and_names_the_topics():
    doc = reverse_document(FORWARD, ["orders", "orders-eu"])
    cfg = parse_config(tomllib.loads(dumps(doc)))   # what `linker run` reads back
    assert cfg.name == "eu-to-us-failback"
    assert list(cfg.source.bootstrap_servers) == ["us:9092"] and list(cfg.destination.bootstrap_servers) == ["eu:9092"]
    assert cfg.destination.sasl is not None and cfg.destination.sasl.password == "p\"w"
    assert list(cfg.topics.names) == ["orders", "orders-eu"] and not cfg.topics.include and not cfg.topics.exclude
    assert cfg.lifecycle.state_topic_for(cfg.name) == "__linker-eu-to-us-failback-state"
    assert cfg.lifecycle.manage_acls and cfg.proxy is not None and cfg.proxy.front == "source"
    # the old source's 5 s request timeout bounds the reverse produce timeout (half of it)
    assert cfg.mirror.produce_timeout_ms == 2500
    assert FORWARD["source"]["bootstrap_servers"] == ["eu:9092"]   # the forward document is not changed


def test_reverse_link_refuses_a_prefix():
    with pytest.raises(ConfigError, match="topics.prefix"):
        reverse_document({**FORWARD, "topics": {"names": ["a"], "prefix": "eu."}}, ["a"])


def test_export_line_is_base64_json(tmp_path):
    r = Record(offset=7, timestamp=1_700_000_000_123, key=None, value=b"\x00\xffv", headers=[("h", b"1"), ("n", None)])
    line = json.loads(record_line("t", 2, r))
    assert line == {"topic": "t", "partition": 2, "offset": 7, "timestamp": 1_700_000_000_123, "key": None,
                    "value": base64.b64encode(b"\x00\xffv").decode(), "headers": [["h", "MQ=="], ["n", None]]}
    ex = TailExport(tmp_path / "out")
    ex("t", 2, r)
    ex("t", 2, r)
    ex.close()
    assert ex.records == 2 and ex.paths == [tmp_path / "out" / "t-2.jsonl"]
    assert len((tmp_path / "out" / "t-2.jsonl").read_text().splitlines()) == 2


def test_loss_lines():
    d = PartitionDiff("t", 0, 10, 0, 13, lost=3, first_offset=10, last_offset=12, first_ms=0, last_ms=1000)
    assert not d.reusable
    assert d.line() == ("t-0: failover offset 10, old source ends at 13; lost 3 records at offsets 10..12, "
                        "timestamps 1970-01-01 00:00:00.000 UTC .. 1970-01-01 00:00:01.000 UTC")
    same = PartitionDiff("t", 1, 10, 0, 10)
    assert same.reusable and same.line().endswith("nothing lost")
    bad = PartitionDiff("t", 2, 10, 0, 10, prefix_problem="first divergence at offset 4: ...")
    assert not bad.reusable and "differs from the promoted topic" in bad.line()


def test_reverse_link_keeps_the_epochs_its_proxy_clients_saw():
    """The forward proxy showed the forward destination's leader epochs shifted by 2**24; the
    reverse link's proxy fronts that cluster as its source, so it must show the same shift, and
    its destination (the old source) the next one: clients never see epochs go backwards."""
    from linker.app.proxy_settings import upstream_of
    from linker.proxy.config import DESTINATION_EPOCH_SHIFT as S
    forward = parse_config(FORWARD)
    reverse_doc = reverse_document(FORWARD, ["orders"])
    reverse = parse_config(tomllib.loads(dumps(reverse_doc)))
    assert forward.proxy is not None and reverse.proxy is not None
    assert (forward.proxy.epoch_generation, reverse.proxy.epoch_generation) == (0, 1)
    g = reverse.proxy.epoch_generation
    assert upstream_of(forward.destination, "destination", 0).epoch_shift == S
    assert upstream_of(reverse.source, "source", g).epoch_shift == S          # the same cluster, as seen
    assert upstream_of(reverse.destination, "destination", g).epoch_shift == 2 * S
    again = parse_config(tomllib.loads(dumps(reverse_document(reverse_doc, ["orders"]))))
    assert again.proxy is not None and again.proxy.epoch_generation == 2
