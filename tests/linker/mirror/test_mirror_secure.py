"""The link file's security settings reach the connections: a SASL_SSL (SCRAM)
source and an SSL source, each mirrored exactly into the plain destination."""
from __future__ import annotations

import asyncio

import pytest

from kafkabed.producers import produce
from linker.settings import parse_config
from linker.verify import verify_link

from .helpers import caught_up, engine_for, run_until


@pytest.mark.parametrize("listener, mechanism", [("SASL_SSL", "SCRAM-SHA-512"), ("SSL", None)])
def test_secure_source(secure_cluster, destination, topic_name, listener, mechanism):
    secure_cluster.create_topic(topic_name, partitions=2)
    produce(secure_cluster, topic_name, 200, compression="zstd")
    info = secure_cluster.listener(listener)
    src = {"bootstrap_servers": info.bootstrap.split(","), "security_protocol": info.protocol,
           "tls": {"ca_file": str(info.ca_cert)}}
    if mechanism:
        src["sasl"] = {"mechanism": mechanism, "username": "alice", "password": info.users["alice"]}
    cfg = parse_config({"source": src, "destination": {"bootstrap_servers": destination.bootstrap.split(",")},
                        "topics": {"names": [topic_name]}, "mirror": {"fetch_max_wait_ms": 100}})
    asyncio.run(run_until(engine_for(cfg), caught_up(), 60))
    report = asyncio.run(verify_link(cfg))
    assert report.ok, report.render()
    assert sum(p.checked_to for p in report.partitions) == 200
