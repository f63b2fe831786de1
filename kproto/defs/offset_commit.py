"""OffsetCommit (API key 8): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'OffsetCommitRequest',
    kind='request',
    api_key=8,
    valid='2-10',
    flexible='8+',
    listeners=('broker',),
    fields=[
        F('GroupId', 'string', '0+'),
        F('GenerationIdOrMemberEpoch', 'int32', '1+', default=-1, ignorable=True),
        F('MemberId', 'string', '1+', ignorable=True),
        F('GroupInstanceId', 'string', '7+', nullable='7+', default=None),
        F('RetentionTimeMs', 'int64', '2-4', default=-1, ignorable=True),
        F('Topics', '[]OffsetCommitRequestTopic', '0+', fields=[
            F('Name', 'string', '0-9', ignorable=True),
            F('TopicId', 'uuid', '10+', ignorable=True),
            F('Partitions', '[]OffsetCommitRequestPartition', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('CommittedOffset', 'int64', '0+'),
                F('CommittedLeaderEpoch', 'int32', '6+', default=-1, ignorable=True),
                F('CommittedMetadata', 'string', '0+', nullable='0+'),
            ]),
        ]),
    ],
)

RESPONSE = Message(
    'OffsetCommitResponse',
    kind='response',
    api_key=8,
    valid='2-10',
    flexible='8+',
    fields=[
        F('ThrottleTimeMs', 'int32', '3+', ignorable=True),
        F('Topics', '[]OffsetCommitResponseTopic', '0+', fields=[
            F('Name', 'string', '0-9', ignorable=True),
            F('TopicId', 'uuid', '10+', ignorable=True),
            F('Partitions', '[]OffsetCommitResponsePartition', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('ErrorCode', 'int16', '0+'),
            ]),
        ]),
    ],
)
