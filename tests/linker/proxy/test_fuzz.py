"""Frame- and message-level fuzzing of the proxy's request path, against a real broker.

FUZZ_CASES cases per run (env LINKER_FUZZ_CASES to change, LINKER_FUZZ_SEED to replay; the
seed is printed), from a seeded generator: random bytes, truncated and oversized frames,
random api keys and versions with random bodies, and mutated valid requests of every API
kproto knows (byte flips, cuts, insertions, a changed version) plus hand-made ones that hit
the guard (a mirror is registered, so write requests are decoded). Each case is one
connection; 40 run at once. Checked: the proxy process stays up, logs no traceback or
task exception, closes only the offending connections (a well-behaved producer through the
same proxy sees no error), and answers a fresh client afterwards.
"""
from __future__ import annotations

import collections
import os
import re
import random
import select
import socket
import struct
import time
from typing import Any

import kproto
from kproto import ApiKey, messages

from proxy_process import start
from proxy_rawwire import RawConnection
from test_bad_input import Steady

FUZZ_CASES = int(os.environ.get("LINKER_FUZZ_CASES", "1000"))
BATCH = 40
MIRROR = "fuzz-mirror"
_LEAKS = ("Traceback", "Task exception was never retrieved", "Exception in callback", "request handling failed")


def _encode(body: Any, version: int, corr: int) -> bytes:
    return b"".join(bytes(c) for c in kproto.encode_request(body, version, corr, "fuzz"))


def _valid_requests(topic: str) -> list[bytes]:
    """One encoded request per API kproto knows (default body, every valid version), and
    hand-made ones with content: the guard, topic and group tracking decode these."""
    out = []
    for key in ApiKey:
        cls = messages.by_key(key, True)
        if cls.VALID_VERSIONS is None:
            continue
        lo, hi = cls.VALID_VERSIONS
        for v in range(lo, hi + 1):
            out.append(_encode(cls(), v, 1))
    P = messages.ProduceRequest
    for name in (MIRROR, topic, "__linker-fuzz-state"):
        produce = P(acks=1, timeout_ms=1000, topic_data=[P.TopicProduceData(name=name, partition_data=[
            P.PartitionProduceData(index=i, records=b"\x00" * 70) for i in range(3)])])
        out += [_encode(produce, v, 1) for v in (3, 8, 9, 12)]
    M = messages.MetadataRequest
    out += [_encode(M(topics=[M.MetadataRequestTopic(name=n) for n in (MIRROR, topic, "x")],
                      allow_auto_topic_creation=True), v, 1) for v in (4, 9, 12)]
    F = messages.FindCoordinatorRequest
    out += [_encode(F(key="g", key_type=0), 3, 1), _encode(F(coordinator_keys=["g1", "g2"], key_type=0), 4, 1)]
    C = messages.CreateTopicsRequest
    out.append(_encode(C(topics=[C.CreatableTopic(name=MIRROR, num_partitions=1, replication_factor=1)]), 5, 1))
    D = messages.DeleteTopicsRequest
    out.append(_encode(D(topic_names=[MIRROR, topic]), 4, 1))
    A = messages.DeleteAclsRequest
    out.append(_encode(A(filters=[A.DeleteAclsFilter(resource_type_filter=2, resource_name_filter=None,
                                                     pattern_type_filter=1, principal_filter=None,
                                                     host_filter=None, operation=1, permission_type=1)]), 3, 1))
    return out


def _mutate(rng: random.Random, frame: bytes) -> bytes:
    b = bytearray(frame[4:])   # without the size prefix; re-prefixed unless the case is about it
    how = rng.randrange(6)
    if how == 0 and b:                       # flip bytes (past the api key: the request stays "known")
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(min(len(b), 4), len(b)) if len(b) > 4 else 0] ^= 1 << rng.randrange(8)
    elif how == 1 and b:                     # cut the body short
        del b[rng.randrange(len(b)):]
    elif how == 2:                           # insert garbage
        at = rng.randrange(len(b) + 1)
        b[at:at] = rng.randbytes(rng.randint(1, 40))
    elif how == 3 and len(b) >= 4:           # another version
        b[2:4] = struct.pack(">h", rng.choice([-1, 0, 1, 5, 9, 13, 17, 200, 32767]))
    elif how == 4 and len(b) >= 8:           # set a length field somewhere to a huge or negative value
        at = rng.randrange(4, max(len(b) - 4, 5))
        b[at:at + 4] = struct.pack(">i", rng.choice([-2, 0x7FFFFFFF, 0x10000000]))
    else:                                    # a varint of 0xFF bytes (compact lengths)
        at = rng.randrange(len(b) + 1)
        b[at:at] = b"\xff" * rng.randint(1, 10)
    return struct.pack(">i", len(b)) + bytes(b)


def _case(rng: random.Random, valid: list[bytes]) -> bytes:
    kind = rng.randrange(10)
    if kind == 0:                            # random bytes, random size prefix
        return rng.randbytes(rng.randint(1, 200))
    if kind == 1:                            # a size prefix out of range, or above the pre-auth cap
        size = rng.choice([-1, -(2**31), 2**31 - 1, (100 << 20) + 1, (512 << 10) + 1])
        return struct.pack(">i", size) + rng.randbytes(rng.randint(0, 2000))
    if kind == 2:                            # random api key and version, random body
        body = struct.pack(">hhih", rng.choice([rng.randrange(-5, 120), rng.randrange(-32768, 32768)]),
                           rng.randrange(-3, 30), rng.randrange(2**31), rng.randrange(-1, 5)) + \
            rng.randbytes(rng.randint(0, 3000))
        return struct.pack(">i", len(body)) + body
    if kind == 9:                            # a header of any key Kafka names (removed ones too)
        body = struct.pack(">hhih", rng.choice(list(ApiKey)), rng.randrange(-1, 20), rng.randrange(2**31), 4) + \
            b"fuzz" + rng.randbytes(rng.randint(0, 300))
        return struct.pack(">i", len(body)) + body
    if kind == 3:                            # a valid request truncated (then the connection closes)
        frame = rng.choice(valid)
        return frame[:rng.randrange(1, len(frame))]
    if kind == 4:                            # valid requests pipelined, then garbage
        return b"".join(rng.choice(valid) for _ in range(rng.randint(1, 4))) + rng.randbytes(rng.randint(0, 50))
    return b"".join(_mutate(rng, rng.choice(valid)) for _ in range(rng.randint(1, 3)))


def _run_batch(address: str, payloads: list[bytes]) -> None:
    """Send each payload on its own connection; read answers for up to a second (the proxy
    closes offending connections; the others are closed by us)."""
    host, _, port = address.rpartition(":")
    socks = []
    for p in payloads:
        s = socket.create_connection((host, int(port)), timeout=5)
        s.setblocking(False)
        socks.append((s, memoryview(p)))
    deadline = time.monotonic() + 1.0
    open_ = {s: p for s, p in socks}
    while open_ and time.monotonic() < deadline:
        writing = [s for s, p in open_.items() if p]
        ready, writable, _ = select.select(list(open_), writing, [], 0.1)
        for s in writable:
            try:
                open_[s] = open_[s][s.send(open_[s]):]
            except OSError:
                open_.pop(s, None)
        for s in ready:
            try:
                if not s.recv(65536):
                    open_.pop(s, None)
            except OSError:
                open_.pop(s, None)
    for s, _ in socks:
        s.close()


def test_fuzzed_requests_close_only_the_offending_client(destination: Any, topic_name: str, tmp_path: Any) -> None:
    """FUZZ_CASES cases (1,000 by default: ~27 s of fuzzing here, ~45 s with the producer and
    cluster: the cases must reach the broker and wait for answers to be worth running); the
    proxy runs as its own process."""
    seed = int(os.environ.get("LINKER_FUZZ_SEED", str(random.randrange(1 << 32))))
    print(f"fuzz seed {seed} (LINKER_FUZZ_SEED={seed} replays), {FUZZ_CASES} cases")
    rng = random.Random(seed)
    destination.create_topic(topic_name)
    valid = _valid_requests(topic_name)
    with open(tmp_path / "proxy.log", "w+") as log:
        proc, bootstrap = start(destination.bootstrap, MIRROR, log, max_request_size=1 << 20)
        steady = Steady(bootstrap, topic_name)
        steady.start()
        try:
            done, t0 = 0, time.monotonic()
            while done < FUZZ_CASES:
                n = min(BATCH, FUZZ_CASES - done)
                _run_batch(bootstrap, [_case(rng, valid) for _ in range(n)])
                done += n
                assert proc.poll() is None, "the proxy process died"
            with RawConnection(bootstrap) as c:
                assert c.request(messages.MetadataRequest(topics=[]), 12).brokers
            after = steady.ok + 3              # and the producer still gets acknowledgements
            deadline = time.monotonic() + 30
            while steady.ok < after and not steady.errors and time.monotonic() < deadline:
                time.sleep(0.05)
            took = time.monotonic() - t0
        finally:
            steady.stop.set()
            steady.join(30)
            proc.terminate()
            proc.wait(10)
        log.seek(0)
        text = log.read()
    leaks = [line for line in text.splitlines() if any(m in line for m in _LEAKS)]
    assert not leaks, f"seed {seed}: " + "\n".join(leaks[:5]) + "\n" + text[-3000:]
    assert not steady.errors, (seed, steady.errors[:3])
    assert steady.ok >= after, (seed, steady.ok)
    print(f"{FUZZ_CASES} cases in {took:.1f}s; the producer beside them: {steady.ok} acknowledged, no error")
    reasons = collections.Counter(re.sub(r"[0-9]+", "N", line.split("): ", 1)[-1])[:60]
                                  for line in text.splitlines() if "closing client" in line or "refused" in line)
    print("\n".join(f"{n:6d}  {r}" for r, n in reasons.most_common(25)))
    assert "closing client" in text
