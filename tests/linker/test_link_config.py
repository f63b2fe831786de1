import pytest

from linker.settings import ConfigError, load_config, parse_config

BASE = {
    "source": {"bootstrap_servers": ["127.0.0.1:9092"]},
    "destination": {"bootstrap_servers": "127.0.0.1:9093, 127.0.0.1:9094"},
    "topics": {"names": ["orders"]},
}


def _with(**over):
    d = {k: dict(v) for k, v in BASE.items()}
    for path, value in over.items():
        sect, _, key = path.partition("__")
        d.setdefault(sect, {})[key] = value
    return d


def test_minimal_config_defaults():
    cfg = parse_config(BASE)
    assert cfg.source.bootstrap_servers == ("127.0.0.1:9092",)
    assert cfg.destination.bootstrap_servers == ("127.0.0.1:9093", "127.0.0.1:9094")
    assert cfg.mirror.acks == -1
    assert cfg.topics.names == ("orders",)
    assert cfg.metrics.port is None


def test_load_from_file(tmp_path):
    p = tmp_path / "link.toml"
    p.write_text('name = "l1"\n[source]\nbootstrap_servers = ["a:1"]\n[destination]\n'
                 'bootstrap_servers = ["b:2"]\nsecurity_protocol = "sasl_ssl"\n'
                 '[destination.sasl]\nmechanism = "scram-sha-512"\nusername = "u"\npassword = "p"\n'
                 '[destination.tls]\nca_file = "ca.pem"\n'
                 '[topics]\ninclude = ["o.*"]\nexclude = ["o\\\\.tmp"]\n'
                 '[mirror]\nacks = "all"\nmax_in_flight_bytes = 8388608\n[metrics]\nlisten = "0.0.0.0:9464"\n')
    cfg = load_config(p)
    assert cfg.name == "l1"
    assert cfg.destination.sasl.mechanism == "SCRAM-SHA-512"
    assert cfg.destination.tls.ca_file == "ca.pem"
    assert cfg.topics.exclude == ("o\\.tmp",)
    assert cfg.mirror.max_in_flight_bytes == 8388608
    assert (cfg.metrics.host, cfg.metrics.port) == ("0.0.0.0", 9464)


@pytest.mark.parametrize("data, fragment", [
    ({"source": BASE["source"], "topics": BASE["topics"]}, "destination: required"),
    (_with(source__bootstrap_servers=[]), "source.bootstrap_servers"),
    (_with(source__bootstrap_servers=["nohost"]), "not host:port"),
    (_with(source__security_protocol="TLS"), "source.security_protocol"),
    (_with(source__security_protocol="SASL_PLAINTEXT"), "source.sasl.mechanism"),
    (_with(source__sasl={"mechanism": "PLAIN"}), "source.sasl: given but"),
    (_with(topics__names=[]), "topics: give at least one"),
    (_with(topics__include=["("]), "topics.include[0]: bad regular expression"),
    (_with(topics__names=["bad name"]), "topics.names[0]"),
    (_with(mirror__acks=0), "mirror.acks"),
    (_with(mirror__fetch_max_wait_ms=-5), "mirror.fetch_max_wait_ms: must be > 0"),
    (_with(mirror__fetch_max_wait_ms=True), "got a boolean"),
    (_with(mirror__frobnicate=1), "mirror.frobnicate: unknown key"),
    (_with(mirror__partition_max_bytes=10**9), "mirror.partition_max_bytes"),
    (_with(metrics__listen="nope"), "metrics.listen"),
    ({**BASE, "extra": 1}, "extra: unknown key"),
])
def test_bad_configs_name_the_key(data, fragment):
    with pytest.raises(ConfigError) as ei:
        parse_config(data)
    assert fragment in str(ei.value)


def test_password_env(monkeypatch):
    sasl = {"mechanism": "PLAIN", "username": "u", "password_env": "LINKER_TEST_PW"}
    data = _with(source__security_protocol="SASL_PLAINTEXT", source__sasl=sasl)
    with pytest.raises(ConfigError, match="LINKER_TEST_PW is not set"):
        parse_config(data)
    monkeypatch.setenv("LINKER_TEST_PW", "secret")
    assert parse_config(data).source.sasl.password == "secret"


def test_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read link file"):
        load_config(tmp_path / "missing.toml")
    p = tmp_path / "bad.toml"
    p.write_text("[source\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(p)


@pytest.mark.parametrize("key", ["names", "include", "exclude"])
def test_topic_lists_refuse_a_bare_string(key):
    """Only bootstrap_servers is documented to take one string; `names = "t"` is refused, naming the key."""
    with pytest.raises(ConfigError) as ei:
        parse_config(_with(**{f"topics__{key}": "orders"}))
    assert str(ei.value).startswith(f"topics.{key}: must be a list of strings, e.g. {key} = ['orders']")


# -- issue 14: durability and timeouts of the mirror ------------------------------------------
@pytest.mark.parametrize("data, fragment", [
    (_with(mirror__acks=1), "mirror.acks: 1 refused: only \"all\""),
    (_with(mirror__acks="1"), "mirror.acks"),
    (_with(mirror__produce_timeout_ms=30_000), "mirror.produce_timeout_ms: 30000 must be at most half"),
    (_with(mirror__produce_timeout_ms=20_000, destination__request_timeout_ms=30_000), "<= 15000"),
    (_with(mirror__min_insync_replicas=0), "mirror.min_insync_replicas"),
    (_with(mirror__min_insync_replicas=3, mirror__replication_factor=2), "exceeds mirror.replication_factor"),
    (_with(mirror__unclean_leader_election_enable="no"), "mirror.unclean_leader_election_enable"),
    (_with(mirror__produce_lanes=0), "mirror.produce_lanes"),
    (_with(mirror__produce_lanes=9), "mirror.produce_lanes: 9 is more than 8"),
])
def test_unsafe_mirror_settings_are_refused(data, fragment):
    with pytest.raises(ConfigError) as ei:
        parse_config(data)
    assert fragment in str(ei.value)


def test_safe_mirror_defaults():
    cfg = parse_config(BASE)
    assert cfg.mirror.acks == -1
    assert cfg.mirror.produce_timeout_ms * 2 <= cfg.destination.request_timeout_ms
    # 3.6-3.9 brokers read Long.MAX as "unset" and fall back to message.timestamp.difference.max.ms.
    assert cfg.mirror.timestamp_before_max_ms == cfg.mirror.timestamp_after_max_ms == 2**63 - 2
    assert (cfg.mirror.min_insync_replicas, cfg.mirror.unclean_leader_election_enable) == (-1, False)
    longer = parse_config(_with(mirror__produce_timeout_ms=20_000, destination__request_timeout_ms=60_000))
    assert longer.mirror.produce_timeout_ms == 20_000
    assert (cfg.mirror.produce_lanes, parse_config(_with(mirror__produce_lanes=1)).mirror.produce_lanes) == (2, 1)
