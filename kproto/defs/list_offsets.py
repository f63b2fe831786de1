"""ListOffsets (API key 2): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'ListOffsetsRequest',
    kind='request',
    api_key=2,
    valid='1-11',
    flexible='6+',
    listeners=('broker',),
    fields=[
        F('ReplicaId', 'int32', '0+'),
        F('IsolationLevel', 'int8', '2+'),
        F('Topics', '[]ListOffsetsTopic', '0+', fields=[
            F('Name', 'string', '0+'),
            F('Partitions', '[]ListOffsetsPartition', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('CurrentLeaderEpoch', 'int32', '4+', default=-1, ignorable=True),
                F('Timestamp', 'int64', '0+'),
            ]),
        ]),
        F('TimeoutMs', 'int32', '10+', ignorable=True),
    ],
)

RESPONSE = Message(
    'ListOffsetsResponse',
    kind='response',
    api_key=2,
    valid='1-11',
    flexible='6+',
    fields=[
        F('ThrottleTimeMs', 'int32', '2+', ignorable=True),
        F('Topics', '[]ListOffsetsTopicResponse', '0+', fields=[
            F('Name', 'string', '0+'),
            F('Partitions', '[]ListOffsetsPartitionResponse', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('ErrorCode', 'int16', '0+'),
                F('Timestamp', 'int64', '1+', default=-1),
                F('Offset', 'int64', '1+', default=-1),
                F('LeaderEpoch', 'int32', '4+', default=-1),
            ]),
        ]),
    ],
)
