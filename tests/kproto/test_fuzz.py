"""Fuzz: mutated and random bytes into every decoder raise only KprotoError.

Every (message, version) decoder gets valid encodings of random objects, then
mutations of them (byte flips, boundary values, huge lengths, truncations,
insertions, deletions) and random bytes.  A decode either returns an object
that encodes again, or raises kproto.DecodeError; nothing else may escape.
The CI budget is small; KPROTO_FUZZ_EXAMPLES=200 runs a long session.
"""
from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kproto
from kproto import messages
from kproto_strategies import all_message_versions, message_strategy

EXAMPLES = int(os.environ.get("KPROTO_FUZZ_EXAMPLES", "3"))
MUTATIONS = 24
CASES = all_message_versions(("request", "response", "header", "data"))

_SPECIAL = [b"\x00", b"\xff", b"\x7f", b"\x80", b"\x7f\xff\xff\xff", b"\xff\xff\xff\xff",
            b"\x80\x80\x80\x80\x80\x01", b"\xff\xff\xff\xff\x0f", b"\x00\x00\x00\x00", b"\x01"]


def mutate(raw: bytes, rng: random.Random) -> bytes:
    b = bytearray(raw)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(7)
        at = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(at, len(b) - 1)] = rng.randrange(256)
        elif op == 1:
            piece = rng.choice(_SPECIAL)
            b[at:at + len(piece)] = piece
        elif op == 2:
            del b[at:]
        elif op == 3:
            b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 6)))
        elif op == 4:
            del b[at:at + rng.randint(1, 6)]
        elif op == 5:
            b[at:at] = b[at:at + rng.randint(1, 16)]
        else:
            b += rng.choice(_SPECIAL)
    return bytes(b)


def decode_only_kproto_errors(cls: type, data: bytes, version: int) -> None:
    try:
        obj = cls.decode(data, version)
    except kproto.DecodeError as exc:
        assert exc.api and exc.version == version
        return
    obj.encode(version)  # what decodes must encode again


@pytest.mark.parametrize("name,version", CASES, ids=[f"{n}-v{v}" for n, v in CASES])
def test_mutations_raise_only_decode_error(name: str, version: int) -> None:
    cls = messages.by_name(name)

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(message_strategy(cls, version), st.randoms(use_true_random=False),
           st.binary(max_size=64))
    def check(obj: object, rng: random.Random, noise: bytes) -> None:
        raw = obj.encode(version)
        with pytest.raises(kproto.DecodeError, match="trailing bytes"):
            cls.decode(raw + b"\x00", version)
        decode_only_kproto_errors(cls, noise, version)
        for _ in range(MUTATIONS):
            decode_only_kproto_errors(cls, mutate(raw, rng), version)

    check()


def test_huge_counts_fail_fast_without_allocating() -> None:
    # A non-flexible array count of 2**31-1 and a compact one of 2**32-2 with no bytes behind them.
    meta = messages.MetadataResponse
    raw = meta(brokers=[]).encode(8)
    huge = raw[:4] + b"\x7f\xff\xff\xff" + raw[8:]
    with pytest.raises(kproto.DecodeError) as info:
        meta.decode(huge, 8)
    assert info.value.path == "brokers" and "exceeds" in info.value.reason
    flex = meta(brokers=[]).encode(12)
    huge = flex[:4] + b"\xff\xff\xff\xff\x0f" + flex[5:]
    with pytest.raises(kproto.DecodeError) as info:
        meta.decode(huge, 12)
    assert info.value.path == "brokers"


@settings(max_examples=max(50, EXAMPLES * 50), deadline=None, database=None)
@given(st.binary(max_size=80), st.sampled_from(sorted(messages.api_keys())), st.integers(-1, 20))
def test_random_frames_into_the_header_layer(noise: bytes, api_key: int, version: int) -> None:
    for call in (lambda: kproto.decode_request(noise), lambda: kproto.peek_request_header(noise),
                 lambda: kproto.decode_response(api_key, version, noise),
                 lambda: kproto.peek_correlation_id(noise)):
        try:
            call()
        except kproto.KprotoError:
            pass


@settings(max_examples=max(50, EXAMPLES * 50), deadline=None, database=None)
@given(st.lists(st.binary(max_size=40), max_size=8), st.integers(0, 64))
def test_random_streams_into_the_frame_decoder(chunks: list[bytes], bound: int) -> None:
    decoder = kproto.FrameDecoder(max_frame_size=bound)
    total = 0
    try:
        for chunk in chunks:
            for frame in decoder.feed(chunk):
                assert len(frame) <= bound
                total += 4 + len(frame)
    except kproto.FrameTooLarge as exc:
        assert exc.size > bound or exc.size < 0
    else:
        assert total + decoder.buffered == sum(len(c) for c in chunks)
