"""Kafka error codes map to exceptions carrying the Kafka name and message."""
from __future__ import annotations

import pytest

from linker.client import AuthenticationError, AuthorizationError, KafkaError
from linker.client.kafka_errors import STALE_METADATA_CODES, error_name, kafka_error, raise_for_code


def test_names_classes_and_retriable_flags() -> None:
    error = kafka_error(6, broker="1 (h:9092)", context="Produce t-0")
    assert type(error) is KafkaError
    assert (error.code, error.name, error.retriable) == (6, "NOT_LEADER_OR_FOLLOWER", True)
    assert str(error).startswith("Produce t-0: NOT_LEADER_OR_FOLLOWER (6)")
    assert str(error).endswith("[broker 1 (h:9092)]")
    assert isinstance(kafka_error(58, "bad creds"), AuthenticationError)
    assert isinstance(kafka_error(29), AuthorizationError)
    assert kafka_error(29).name == "TOPIC_AUTHORIZATION_FAILED"
    assert kafka_error(36, "exists").message == "exists"
    assert kafka_error(36).retriable is False


def test_unknown_code_is_named_in_the_message() -> None:
    error = kafka_error(31999)
    assert error.code == 31999 and "31999" in str(error)


def test_raise_for_code() -> None:
    raise_for_code(0)
    with pytest.raises(KafkaError, match="INVALID_CONFIG"):
        raise_for_code(40, "nope")


def test_stale_metadata_codes_are_the_leader_errors() -> None:
    assert {error_name(c) for c in STALE_METADATA_CODES} >= {
        "NOT_LEADER_OR_FOLLOWER", "UNKNOWN_TOPIC_OR_PARTITION", "FENCED_LEADER_EPOCH",
        "UNKNOWN_LEADER_EPOCH", "LEADER_NOT_AVAILABLE"}
