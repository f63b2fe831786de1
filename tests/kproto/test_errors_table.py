"""The Kafka error-code table and the ErrorCode enum (generated from Kafka 4.4.0's Errors enum)."""
from __future__ import annotations

from kproto.errors import BY_NAME, ERRORS, ErrorCode, ErrorInfo, error_info


def test_table_is_complete_and_consistent() -> None:
    assert len(ERRORS) >= 130
    codes = sorted(ERRORS)
    assert codes[0] == -1 and codes == list(range(-1, codes[-1] + 1))  # no gaps in 4.4.0
    assert len(BY_NAME) == len(ERRORS)
    for code, info in ERRORS.items():
        assert info.code == code and info.name.isupper() and info.message


def test_known_entries() -> None:
    assert error_info(0) == ErrorInfo(0, "NONE", False, "NONE")
    assert error_info(6).name == "NOT_LEADER_OR_FOLLOWER" and error_info(6).retriable
    assert error_info(3).name == "UNKNOWN_TOPIC_OR_PARTITION" and error_info(3).retriable
    assert error_info(1).name == "OFFSET_OUT_OF_RANGE" and not error_info(1).retriable
    assert BY_NAME["INVALID_RECORD"].code == 87 and not BY_NAME["INVALID_RECORD"].retriable
    assert BY_NAME["OUT_OF_ORDER_SEQUENCE_NUMBER"].code == 45
    assert BY_NAME["INVALID_TIMESTAMP"].code == 32
    assert BY_NAME["MESSAGE_TOO_LARGE"].code == 10
    assert BY_NAME["REQUEST_TIMED_OUT"].retriable and BY_NAME["NOT_COORDINATOR"].retriable
    assert BY_NAME["UNKNOWN_TOPIC_ID"].code == 100
    assert BY_NAME["TOPIC_AUTHORIZATION_FAILED"].code == 29
    assert not BY_NAME["TOPIC_AUTHORIZATION_FAILED"].retriable


def test_unknown_code() -> None:
    info = error_info(31337)
    assert info.name == "UNKNOWN" and info.code == 31337 and not info.retriable


def test_error_code_enum_is_the_table() -> None:
    """One member per table row, same number, same name, same retriable flag."""
    assert {m.value for m in ErrorCode} == set(ERRORS)
    assert len(ErrorCode) == len(ERRORS)  # no aliases
    for member in ErrorCode:
        info = ERRORS[member.value]
        assert member.name == info.name, member
        assert member.retriable is info.retriable, member
        assert ErrorCode[info.name] is member and BY_NAME[member.name] is info
    assert ErrorCode.NONE == 0 and not ErrorCode.NONE.retriable
    assert ErrorCode.NOT_LEADER_OR_FOLLOWER == 6 and ErrorCode.NOT_LEADER_OR_FOLLOWER.retriable
    assert ErrorCode.CONTROLLER_ID_NOT_REGISTERED == 136  # new in 4.4
