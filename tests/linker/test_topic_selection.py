from linker.settings import TopicSettings
from linker.selection import TopicSelector


def test_names_include_exclude():
    sel = TopicSelector(TopicSettings(names=("a", "gone"), include=(r"orders\..*",), exclude=(r".*\.tmp",)))
    selected, missing = sel.select(["a", "b", "orders.eu", "orders.x.tmp", "__consumer_offsets", "ordersX"])
    assert selected == ["a", "orders.eu"]
    assert missing == ["gone"]


def test_patterns_never_pick_internal_topics_but_names_may():
    sel = TopicSelector(TopicSettings(names=("__special",), include=(".*",)))
    assert sel.matches("__special")
    assert not sel.matches("__consumer_offsets")
    assert sel.matches("anything")


def test_exclude_wins_over_literal():
    sel = TopicSelector(TopicSettings(names=("a",), exclude=("a",)))
    assert not sel.matches("a")
    assert sel.select(["a"]) == ([], [])


def test_regex_is_full_match():
    sel = TopicSelector(TopicSettings(include=("ord",)))
    assert not sel.matches("orders")
