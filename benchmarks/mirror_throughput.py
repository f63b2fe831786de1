"""Mirror throughput (1 and 8 partitions), peak RSS, and alignment time.

Two local 1-node clusters (kafkabed). Values are incompressible (slices of a
random pool; lz4 is on but gains nothing), so MB are wire and disk MB. For
each shape, the same data is copied
twice in the same run: by a plain consume-and-produce loop with
confluent-kafka (the baseline: what a client-level copier does, without
offset or byte fidelity) and by `linker run` (a subprocess, so its peak RSS is
its own). Both rates run from the first copied record to the last (start-up,
group join and metadata are reported apart). The result is MB/s for both and
the ratio.

    python -m benchmarks.mirror_throughput [--mb 200] [--align 10000000]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from kafkabed import KafkaCluster
from linker.config import parse_config
from linker.client import EARLIEST_TIMESTAMP, LATEST_TIMESTAMP
from linker.connect import connect


def produce_bulk(cluster: KafkaCluster, topic: str, total_bytes: int, value_size: int = 1000) -> int:
    from confluent_kafka import Producer
    p = Producer({**cluster.confluent_config(), "linger.ms": 20, "batch.size": 256 * 1024,
                  "compression.type": "lz4", "queue.buffering.max.kbytes": 256 * 1024})
    n = total_bytes // value_size
    # Incompressible values: MB counted here are the MB that travel and are stored.
    pool = os.urandom(value_size * 1024)
    for i in range(n):
        off = (i * 7919) % (len(pool) - value_size)
        value = pool[off:off + value_size]
        while True:
            try:
                p.produce(topic, value=value, key=b"%d" % i)
                break
            except BufferError:
                p.poll(0.05)
        if i % 10000 == 0:
            p.poll(0)
    assert p.flush(120) == 0
    return n


def offsets(settings, tps, which):
    async def go():
        client = connect(settings, "bench")
        try:
            await client.refresh_metadata()
            return await client.offsets(tps, which)
        finally:
            await client.close()
    return asyncio.run(go())


def baseline_copy(src: KafkaCluster, dst: KafkaCluster, topic: str, out_topic: str, records: int) -> float:
    from confluent_kafka import Consumer, Producer
    c = Consumer({**src.confluent_config(), "group.id": f"bench-{time.time()}", "auto.offset.reset": "earliest",
                  "enable.auto.commit": False, "fetch.max.bytes": 16 * 1024 * 1024})
    p = Producer({**dst.confluent_config(), "linger.ms": 20, "batch.size": 256 * 1024, "compression.type": "lz4",
                  "queue.buffering.max.kbytes": 256 * 1024})
    c.subscribe([topic])
    t0 = None
    n = 0
    while n < records:
        for m in c.consume(1000, 1.0):
            if m.error():
                continue
            if t0 is None:
                t0 = time.perf_counter()  # from the first record: group join is not copying
            while True:
                try:
                    p.produce(out_topic, value=m.value(), key=m.key(), partition=m.partition())
                    break
                except BufferError:
                    p.poll(0.05)
            n += 1
        p.poll(0)
    p.flush(120)
    took = time.perf_counter() - t0
    c.close()
    return took


def linker_copy(src: KafkaCluster, dst: KafkaCluster, topic: str, partitions: int,
                workdir: Path) -> tuple[float, float, int]:
    """(seconds from the first mirrored offset to the end, seconds from process start, peak RSS)."""
    cfg_path = workdir / f"{topic}.toml"
    cfg_path.write_text(
        f'name = "bench"\n[source]\nbootstrap_servers = {json.dumps(src.bootstrap.split(","))}\n'
        f'[destination]\nbootstrap_servers = {json.dumps(dst.bootstrap.split(","))}\n'
        f'[topics]\nnames = ["{topic}"]\n[mirror]\nfetch_max_wait_ms = 100\n')
    cfg = parse_config({"source": {"bootstrap_servers": src.bootstrap.split(",")},
                        "destination": {"bootstrap_servers": dst.bootstrap.split(",")},
                        "topics": {"names": [topic]}})
    tps = [(topic, i) for i in range(partitions)]
    target = offsets(cfg.source, tps, LATEST_TIMESTAMP)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "linker.cli", "run", "--config", str(cfg_path),
                             "--log-level", "WARNING"])
    ps = psutil.Process(proc.pid)
    peak = 0
    first = None
    try:
        while True:
            peak = max(peak, ps.memory_info().rss)
            try:
                ends = offsets(cfg.destination, tps, LATEST_TIMESTAMP)
                if first is None and any(ends[tp] > 0 for tp in tps):
                    first = time.perf_counter()
                if all(ends[tp] >= target[tp] for tp in tps):
                    break
            except Exception:
                pass
            time.sleep(0.05)
        done = time.perf_counter()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    return done - (first or t0), done - t0, peak


def alignment(src: KafkaCluster, dst: KafkaCluster, workdir: Path, s: int) -> dict:
    """Source log start = s; time `linker run` from start until the destination starts at s."""
    from kafka.admin import KafkaAdminClient
    from kafka.structs import TopicPartition
    from linker.mirror.filler import filler_batch
    topic = f"align-{s}"
    src.create_topic(topic, 1)
    cfg = parse_config({"source": {"bootstrap_servers": src.bootstrap.split(",")},
                        "destination": {"bootstrap_servers": dst.bootstrap.split(",")},
                        "topics": {"names": [topic]}})

    async def fill_source() -> None:
        client = connect(cfg.source, "bench")
        try:
            node = await client.leader_for(topic, 0)
            done, ts = 0, int(time.time() * 1000)
            while done < s:
                n = min(200_000, s - done)
                answer = await client.produce(node, {(topic, 0): filler_batch(n, ts)})
                assert answer[(topic, 0)].error_code == 0
                done += n
        finally:
            await client.close()
    asyncio.run(fill_source())
    admin = KafkaAdminClient(**src.kafka_python_config())
    try:
        admin.delete_records({TopicPartition(topic, 0): s})
    finally:
        admin.close()
    from kafkabed.producers import produce
    produce(src, topic, 10)
    _, took, peak = linker_copy(src, dst, topic, 1, workdir)
    start = offsets(cfg.destination, [(topic, 0)], EARLIEST_TIMESTAMP)[(topic, 0)]
    return {"offsets": s, "seconds": round(took, 1), "dest_log_start": start, "peak_rss_mb": round(peak / 2**20, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=200, help="MB per shape")
    ap.add_argument("--align", type=int, default=0, help="also time alignment for this source log start")
    args = ap.parse_args()
    results = {}
    with KafkaCluster(name="bench-src") as src, KafkaCluster(name="bench-dst") as dst:
        with tempfile.TemporaryDirectory() as tmp:
            for parts in (1, 8):
                topic = f"bench-{parts}p"
                src.create_topic(topic, parts)
                dst.create_topic(f"{topic}-baseline", parts)
                n = produce_bulk(src, topic, args.mb * 10**6)
                mb = args.mb
                base = baseline_copy(src, dst, topic, f"{topic}-baseline", n)
                took, wall, peak = linker_copy(src, dst, topic, parts, Path(tmp))
                results[f"{parts}p"] = {"MB": mb, "baseline_MBps": round(mb / base, 1),
                                        "linker_MBps": round(mb / took, 1), "ratio": round(base / took, 2),
                                        "linker_wall_s_incl_startup": round(wall, 2),
                                        "linker_peak_rss_MB": round(peak / 2**20, 1)}
                print(parts, results[f"{parts}p"], flush=True)
            if args.align:
                results["alignment"] = alignment(src, dst, Path(tmp), args.align)
                print(results["alignment"], flush=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
