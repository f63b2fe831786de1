"""Every API key kproto defines (Kafka 4.4.0) is classified once, and the table agrees
with the filters that act on it (pure; no brokers)."""
from __future__ import annotations

from kproto import ApiKey, messages
from linker.proxy.filters import CLASSIFICATION, ApiClass, advertised, class_of, refused_while_guarded
from linker.proxy.guard import GUARDED_APIS
from linker.proxy.rewrite import MUST_PARSE


def test_every_api_key_is_classified():
    assert set(ApiKey) == set(CLASSIFICATION), sorted(set(ApiKey) ^ set(CLASSIFICATION))
    for key, (cls, why) in CLASSIFICATION.items():
        assert isinstance(cls, ApiClass) and why, key


def test_guarded_keys_are_exactly_the_guard_handlers():
    guarded = {k for k, (c, _) in CLASSIFICATION.items() if c is ApiClass.GUARDED}
    assert guarded == set(GUARDED_APIS)


def test_rewritten_keys_are_parsed_by_the_rewrite_filter():
    rewritten = {k for k, (c, _) in CLASSIFICATION.items() if c is ApiClass.REWRITTEN}
    assert rewritten <= MUST_PARSE
    assert MUST_PARSE - rewritten <= {ApiKey.PRODUCE}   # Produce: guarded decides its class


def test_unknown_keys_are_refused_and_not_advertised_while_guarded():
    assert class_of(999) is ApiClass.REFUSED and refused_while_guarded(999)
    assert not advertised(999, True) and advertised(999, False)
    assert not advertised(ApiKey.WRITE_TXN_MARKERS, True)
    assert advertised(ApiKey.PRODUCE, True) and advertised(ApiKey.FETCH, True)


def test_refused_keys_with_an_error_field_can_be_answered():
    """A refused key whose response has a top-level error code is answered, not cut off."""
    answerable = []
    for key, (cls, _) in CLASSIFICATION.items():
        if cls is ApiClass.REFUSED:
            try:
                resp = messages.by_key(key, False)
            except KeyError:
                continue
            if any(f.attr == "error_code" for f in resp.DEFINITION.fields):
                answerable.append(key)
    assert ApiKey.UPDATE_FEATURES in answerable


def test_the_chain_follows_the_table():
    from linker.proxy.filters_chain import Chain, EpochShiftFilter, GuardFilter, RefuseFilter, TopicRenameFilter
    chain = Chain()
    for key, (cls, _) in CLASSIFICATION.items():
        kinds = {type(f) for f in chain.of(key)}
        assert (GuardFilter in kinds) == (cls is ApiClass.GUARDED), key
        assert (RefuseFilter in kinds) == (cls is ApiClass.REFUSED), key
    assert [type(f) for f in chain.of(999)] == [RefuseFilter]
    # hot path: only the epoch shift, active only while a shifted cluster (a link's destination) is
    # fronted, and the rename, active only while a cluster with a topic prefix may be reached
    for key in (ApiKey.FETCH, ApiKey.LIST_OFFSETS):
        assert [type(f) for f in chain.of(key)] == [EpochShiftFilter, TopicRenameFilter]


def test_every_refused_key_and_version_gets_an_answer_or_a_close():
    """Keys Kafka removed (LeaderAndIsr, StopReplica, ...) have no valid versions left; the
    refusal must still close the connection cleanly instead of raising in the session."""
    from linker.proxy.filters_chain import Answer, Close, RefuseFilter, RequestContext
    refuse = RefuseFilter()
    removed = [ApiKey.LEADER_AND_ISR, ApiKey.STOP_REPLICA, ApiKey.UPDATE_METADATA, ApiKey.CONTROLLED_SHUTDOWN]
    for key in [k for k, (c, _) in CLASSIFICATION.items() if c is ApiClass.REFUSED] + [999]:
        for version in range(0, 8):
            result = refuse.on_request(None, RequestContext(key, version, 1, None, None, "test"))  # type: ignore[arg-type]
            assert isinstance(result, (Answer, Close)), (key, version)
            if key in removed:
                assert isinstance(result, Close) and "not forwarded" in result.reason
