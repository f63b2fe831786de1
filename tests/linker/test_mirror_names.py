import pytest

from linker.settings import ConfigError, parse_config
from linker.naming import MirrorNames

BASE = {
    "source": {"bootstrap_servers": ["127.0.0.1:9092"]},
    "destination": {"bootstrap_servers": ["127.0.0.1:9093"]},
}


def _topics(**t):
    return parse_config({**BASE, "topics": {"names": ["orders"], **t}})


def test_prefix_defaults_to_none_and_is_parsed():
    assert _topics().topics.prefix == ""
    assert _topics(prefix="src.").topics.prefix == "src."


@pytest.mark.parametrize("bad, words", [
    ("src/", "topics.prefix"), ("a b", "topics.prefix"), ("x" * 249, "limit 249"), (3, "expected str"),
])
def test_bad_prefix_names_the_key(bad, words):
    with pytest.raises(ConfigError, match="topics.prefix") as e:
        _topics(prefix=bad)
    assert words in str(e.value)


def test_prefixed_name_over_249_is_refused():
    with pytest.raises(ConfigError, match=r"topics.names\[0\]: mirror topic .* longer than 249"):
        _topics(prefix="p" * 10, names=["o" * 240])
    assert _topics(prefix="p" * 9, names=["o" * 240]).topics.prefix == "p" * 9


def test_mapping_both_ways():
    n = MirrorNames("src.")
    assert n.mirror_topic("orders") == "src.orders"
    assert n.mirror_tp(("orders", 3)) == ("src.orders", 3)
    assert n.source_topic("src.orders") == "orders"
    assert n.source_topic("orders") is None
    assert n.source_topic("src.") is None
    assert MirrorNames().mirror_topic("orders") == "orders"


def test_resolve_accepts_either_name_unless_ambiguous():
    n = MirrorNames("src.")
    assert n.resolve("orders", {"orders"}) == "orders"
    assert n.resolve("src.orders", {"orders"}) == "orders"
    assert n.resolve("nope", {"orders"}) is None
    # both "src.x" and "x" are source topics: "src.x" could mean either -> refused
    assert n.resolve("src.x", {"x", "src.x"}) is None
    assert MirrorNames().resolve("orders", {"orders"}) == "orders"
