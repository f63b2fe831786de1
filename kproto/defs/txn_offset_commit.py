"""TxnOffsetCommit (API key 28): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'TxnOffsetCommitRequest',
    kind='request',
    api_key=28,
    valid='0-6',
    flexible='3+',
    listeners=('broker',),
    fields=[
        F('TransactionalId', 'string', '0+'),
        F('GroupId', 'string', '0+'),
        F('ProducerId', 'int64', '0+'),
        F('ProducerEpoch', 'int16', '0+'),
        F('GenerationIdOrMemberEpoch', 'int32', '3+', default=-1),
        F('MemberId', 'string', '3+', default=''),
        F('GroupInstanceId', 'string', '3+', nullable='3+', default=None),
        F('Topics', '[]TxnOffsetCommitRequestTopic', '0+', fields=[
            F('Name', 'string', '0-5', ignorable=True),
            F('TopicId', 'uuid', '6+', ignorable=True),
            F('Partitions', '[]TxnOffsetCommitRequestPartition', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('CommittedOffset', 'int64', '0+'),
                F('CommittedLeaderEpoch', 'int32', '2+', default=-1, ignorable=True),
                F('CommittedMetadata', 'string', '0+', nullable='0+'),
            ]),
        ]),
    ],
)

RESPONSE = Message(
    'TxnOffsetCommitResponse',
    kind='response',
    api_key=28,
    valid='0-6',
    flexible='3+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('Topics', '[]TxnOffsetCommitResponseTopic', '0+', fields=[
            F('Name', 'string', '0-5', ignorable=True),
            F('TopicId', 'uuid', '6+', ignorable=True),
            F('Partitions', '[]TxnOffsetCommitResponsePartition', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('ErrorCode', 'int16', '0+'),
            ]),
        ]),
    ],
)
