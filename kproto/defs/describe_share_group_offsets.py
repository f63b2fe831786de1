"""DescribeShareGroupOffsets (API key 90): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'DescribeShareGroupOffsetsRequest',
    kind='request',
    api_key=90,
    valid='0-1',
    flexible='0+',
    listeners=('broker',),
    fields=[
        F('Groups', '[]DescribeShareGroupOffsetsRequestGroup', '0+', fields=[
            F('GroupId', 'string', '0+'),
            F('Topics', '[]DescribeShareGroupOffsetsRequestTopic', '0+', nullable='0+', fields=[
                F('TopicName', 'string', '0+'),
                F('Partitions', '[]int32', '0+'),
            ]),
        ]),
    ],
)

RESPONSE = Message(
    'DescribeShareGroupOffsetsResponse',
    kind='response',
    api_key=90,
    valid='0-1',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('Groups', '[]DescribeShareGroupOffsetsResponseGroup', '0+', fields=[
            F('GroupId', 'string', '0+'),
            F('Topics', '[]DescribeShareGroupOffsetsResponseTopic', '0+', fields=[
                F('TopicName', 'string', '0+'),
                F('TopicId', 'uuid', '0+'),
                F('Partitions', '[]DescribeShareGroupOffsetsResponsePartition', '0+', fields=[
                    F('PartitionIndex', 'int32', '0+'),
                    F('StartOffset', 'int64', '0+'),
                    F('LeaderEpoch', 'int32', '0+'),
                    F('Lag', 'int64', '1+', default=-1, ignorable=True),
                    F('ErrorCode', 'int16', '0+'),
                    F('ErrorMessage', 'string', '0+', nullable='0+', default=None),
                ]),
            ]),
            F('ErrorCode', 'int16', '0+'),
            F('ErrorMessage', 'string', '0+', nullable='0+', default=None),
        ]),
    ],
)
