"""The Apache Kafka versions the test bed knows how to run, pinned in one place."""
from __future__ import annotations

from dataclasses import dataclass

#: The broker every test, benchmark and the demo use unless they ask otherwise.
PINNED = "4.4.0"
#: The 4.1.x broker kept in the matrix (an older 4.x source or destination).
PREVIOUS_4X = "4.1.1"
#: The 3.9.x broker used as a migration source (3.9 source -> 4.x destination)
#: and as a 3.9 destination.
MIGRATION_SOURCE = "3.9.1"
#: Every version the test bed fetches and runs; any of them can be a source or
#: a destination. Newest first.
MATRIX = (PINNED, PREVIOUS_4X, MIGRATION_SOURCE)


@dataclass(frozen=True)
class KafkaRelease:
    """What Maven must fetch for one broker version and how to launch it."""

    version: str
    #: Maven coordinates group:artifact:version of everything on the classpath.
    artifacts: tuple[str, ...]
    #: Logging backend: "log4j2" (Kafka 4.x) or "log4j1" (reload4j, Kafka 3.x).
    logging: str
    server_main: str = "kafka.Kafka"
    storage_main: str = "kafka.tools.StorageTool"


def _core(version: str) -> tuple[str, ...]:
    return (
        f"org.apache.kafka:kafka_2.13:{version}",
        f"org.apache.kafka:kafka-tools:{version}",
        f"org.apache.kafka:kafka-clients:{version}",
    )


# The Maven poms of kafka_2.13 leave the logging backend to the distribution;
# these are the backends the binary distributions of each version ship.
RELEASES: dict[str, KafkaRelease] = {
    "4.4.0": KafkaRelease(
        version="4.4.0",
        artifacts=_core("4.4.0") + (
            "org.apache.logging.log4j:log4j-api:2.25.5",
            "org.apache.logging.log4j:log4j-core:2.25.5",
            "org.apache.logging.log4j:log4j-slf4j-impl:2.25.5",
        ),
        logging="log4j2",
    ),
    "4.1.1": KafkaRelease(
        version="4.1.1",
        artifacts=_core("4.1.1") + (
            "org.apache.logging.log4j:log4j-api:2.24.3",
            "org.apache.logging.log4j:log4j-core:2.24.3",
            "org.apache.logging.log4j:log4j-slf4j-impl:2.24.3",
        ),
        logging="log4j2",
    ),
    "3.9.1": KafkaRelease(
        version="3.9.1",
        artifacts=_core("3.9.1") + (
            "ch.qos.reload4j:reload4j:1.2.25",
            "org.slf4j:slf4j-reload4j:1.7.36",
        ),
        logging="log4j1",
    ),
}


def release(version: str) -> KafkaRelease:
    """The release record for `version`, or a clear error listing the known ones."""
    try:
        return RELEASES[version]
    except KeyError:
        known = ", ".join(sorted(RELEASES))
        raise ValueError(f"unknown Kafka version {version!r}; the test bed knows {known}") from None
