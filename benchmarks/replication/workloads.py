"""The workloads: what is written to the source and how it is measured."""
from __future__ import annotations

from dataclasses import dataclass

CODECS = ("none", "lz4", "zstd", "gzip")
KINDS = ("throughput", "latency", "compacted")
KiB = 1024
MiB = 1024 * 1024


@dataclass(frozen=True)
class Workload:
    """One source topic and the way the contenders are measured on it.

    ``kind`` is "throughput" (the whole topic is written first, then each
    contender copies it as fast as it can), "latency" (each contender runs
    while the source receives ``rate_bytes`` per second for ``seconds``) or
    "compacted" (a throughput workload on a ``cleanup.policy=compact`` topic:
    ``records`` keyed records over ``keys`` keys, and the source cleaner has
    run before any contender starts; see ``datagen.compacted_batches``).
    """

    name: str
    codec: str
    partitions: int
    records: int
    record_bytes: int = KiB
    batch_records: int = 64
    kind: str = "throughput"
    rate_bytes: int = 0
    seconds: float = 0.0
    #: Compacted workloads: distinct keys over the whole topic (each partition has its own share).
    keys: int = 0
    #: Only these contenders run it (None: all that can; "linker" also admits linker@<tree>).
    contenders: tuple[str, ...] | None = None
    #: Throughput workloads: each partition's batches carry an idempotent producer's id and
    #: contiguous sequences (as producers write by default since Kafka 3.0), which lets the
    #: linker pipeline produces (docs/mirror.md, "Pipelining").
    idempotent: bool = False

    def __post_init__(self) -> None:
        if self.codec not in CODECS:
            raise ValueError(f"workload {self.name}: unknown codec {self.codec!r}; choose from {CODECS}")
        if self.kind not in KINDS:
            raise ValueError(f"workload {self.name}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "compacted" and not self.partitions <= self.keys <= self.records:
            raise ValueError(f"workload {self.name}: a compacted workload needs partitions <= keys <= records")
        if self.kind == "latency" and (self.rate_bytes <= 0 or self.seconds <= 0):
            raise ValueError(f"workload {self.name}: a latency workload needs rate_bytes > 0 and seconds > 0")
        if self.partitions < 1 or self.batch_records < 1 or self.record_bytes < 16:
            raise ValueError(f"workload {self.name}: partitions, batch_records >= 1 and record_bytes >= 16")

    @property
    def source_bytes(self) -> int:
        """Logical source bytes: record values, before compression (what users count)."""
        return self.records * self.record_bytes


#: 1,000,000 records of 100 B over 100,000 keys, 4 partitions, 128-record lz4 batches (see
#: datagen.compacted_batches): cleaned, 10% of the offsets hold a record. Sized so MM2, which copies
#: only those, moves data for seconds (at 1% it was done between two 0.1 s polls).
COMPACTED = Workload("compacted-lz4", "lz4", 4, 1_000_000, record_bytes=100, batch_records=128, kind="compacted",
                     keys=100_000, contenders=("linker", "mm2", "naive"))


def full_workloads() -> list[Workload]:
    """The issue's workloads, sized to fit `make bench` in 30 minutes on 2 cores."""
    gib_records = 1024 * MiB // KiB  # 1 GiB of 1 KiB records
    out = [Workload(f"8p-{c}", c, 8, gib_records) for c in CODECS]
    # 1,000 partitions, small batches (8 records = 8 KiB uncompressed), 8 batches each.
    out.append(Workload("1000p-lz4", "lz4", 1000, 1000 * 8 * 8, batch_records=8))
    # A cleaned compacted topic: 10% of its offsets still hold a record. The ceiling cannot
    # take part (a cleaned batch has fewer records than offsets: a broker refuses it from a client).
    out.append(COMPACTED)
    # A fixed moderate rate: 5 MiB/s for 60 s, lz4, small batches as a live producer makes them.
    out.append(Workload("latency-lz4", "lz4", 8, 0, batch_records=8, kind="latency",
                        rate_bytes=5 * MiB, seconds=60.0))
    return out


def extra_workloads() -> list[Workload]:
    """Workloads run only when named with --only (not part of `make bench`)."""
    gib_records = 1024 * MiB // KiB
    # Idempotent source batches: the ceiling cannot take part (its 8 requests in flight over a
    # pool of connections may reorder one producer's sequences, which the broker refuses).
    return [Workload(f"8p-{c}-idem", c, 8, gib_records, idempotent=True, contenders=("linker", "mm2", "naive"))
            for c in ("none", "lz4")]


def smoke_workloads() -> list[Workload]:
    """Tiny versions of each shape, so the harness never rots (`make bench-smoke`)."""
    return [
        Workload("smoke-8p-lz4", "lz4", 8, 4096),
        Workload("smoke-latency-lz4", "lz4", 4, 0, batch_records=8, kind="latency",
                 rate_bytes=256 * KiB, seconds=3.0,
                 contenders=("linker", "naive")),  # MM2 starts in 40 s under load: once per smoke run is enough
        # A cleaned compacted topic (the source cleaner runs first): the completion checks and the
        # linker's fillers. Not MM2 (its start-up), not the ceiling (it cannot copy cleaned batches).
        Workload("smoke-compacted-lz4", "lz4", 2, 20_000, record_bytes=100, batch_records=128, kind="compacted",
                 keys=2_000, contenders=("linker", "naive")),
    ]
