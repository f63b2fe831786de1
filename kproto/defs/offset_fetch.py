"""OffsetFetch (API key 9): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'OffsetFetchRequest',
    kind='request',
    api_key=9,
    valid='1-10',
    flexible='6+',
    listeners=('broker',),
    fields=[
        F('GroupId', 'string', '0-7'),
        F('Topics', '[]OffsetFetchRequestTopic', '0-7', nullable='2-7', fields=[
            F('Name', 'string', '0-7'),
            F('PartitionIndexes', '[]int32', '0-7'),
        ]),
        F('Groups', '[]OffsetFetchRequestGroup', '8+', fields=[
            F('GroupId', 'string', '8+'),
            F('MemberId', 'string', '9+', nullable='9+', default=None, ignorable=True),
            F('MemberEpoch', 'int32', '9+', default=-1, ignorable=True),
            F('Topics', '[]OffsetFetchRequestTopics', '8+', nullable='8+', fields=[
                F('Name', 'string', '8-9', ignorable=True),
                F('TopicId', 'uuid', '10+', ignorable=True),
                F('PartitionIndexes', '[]int32', '8+'),
            ]),
        ]),
        F('RequireStable', 'bool', '7+', default=False),
    ],
)

RESPONSE = Message(
    'OffsetFetchResponse',
    kind='response',
    api_key=9,
    valid='1-10',
    flexible='6+',
    fields=[
        F('ThrottleTimeMs', 'int32', '3+', ignorable=True),
        F('Topics', '[]OffsetFetchResponseTopic', '0-7', fields=[
            F('Name', 'string', '0-7'),
            F('Partitions', '[]OffsetFetchResponsePartition', '0-7', fields=[
                F('PartitionIndex', 'int32', '0-7'),
                F('CommittedOffset', 'int64', '0-7'),
                F('CommittedLeaderEpoch', 'int32', '5-7', default=-1, ignorable=True),
                F('Metadata', 'string', '0-7', nullable='0-7'),
                F('ErrorCode', 'int16', '0-7'),
            ]),
        ]),
        F('ErrorCode', 'int16', '2-7', default=0, ignorable=True),
        F('Groups', '[]OffsetFetchResponseGroup', '8+', fields=[
            F('GroupId', 'string', '8+'),
            F('Topics', '[]OffsetFetchResponseTopics', '8+', fields=[
                F('Name', 'string', '8-9', ignorable=True),
                F('TopicId', 'uuid', '10+', ignorable=True),
                F('Partitions', '[]OffsetFetchResponsePartitions', '8+', fields=[
                    F('PartitionIndex', 'int32', '8+'),
                    F('CommittedOffset', 'int64', '8+'),
                    F('CommittedLeaderEpoch', 'int32', '8+', default=-1, ignorable=True),
                    F('Metadata', 'string', '8+', nullable='8+'),
                    F('ErrorCode', 'int16', '8+'),
                ]),
            ]),
            F('ErrorCode', 'int16', '8+', default=0),
        ]),
    ],
)
