"""OffsetForLeaderEpoch (API key 23): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'OffsetForLeaderEpochRequest',
    kind='request',
    api_key=23,
    valid='2-4',
    flexible='4+',
    listeners=('broker',),
    fields=[
        F('ReplicaId', 'int32', '3+', default=-2, ignorable=True),
        F('Topics', '[]OffsetForLeaderTopic', '0+', fields=[
            F('Topic', 'string', '0+'),
            F('Partitions', '[]OffsetForLeaderPartition', '0+', fields=[
                F('Partition', 'int32', '0+'),
                F('CurrentLeaderEpoch', 'int32', '2+', default=-1, ignorable=True),
                F('LeaderEpoch', 'int32', '0+'),
            ]),
        ]),
    ],
)

RESPONSE = Message(
    'OffsetForLeaderEpochResponse',
    kind='response',
    api_key=23,
    valid='2-4',
    flexible='4+',
    fields=[
        F('ThrottleTimeMs', 'int32', '2+', ignorable=True),
        F('Topics', '[]OffsetForLeaderTopicResult', '0+', fields=[
            F('Topic', 'string', '0+'),
            F('Partitions', '[]EpochEndOffset', '0+', fields=[
                F('ErrorCode', 'int16', '0+'),
                F('Partition', 'int32', '0+'),
                F('LeaderEpoch', 'int32', '1+', default=-1, ignorable=True),
                F('EndOffset', 'int64', '0+', default=-1),
            ]),
        ]),
    ],
)
