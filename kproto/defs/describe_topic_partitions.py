"""DescribeTopicPartitions (API key 75): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'DescribeTopicPartitionsRequest',
    kind='request',
    api_key=75,
    valid='0',
    flexible='0+',
    listeners=('broker',),
    fields=[
        F('Topics', '[]TopicRequest', '0+', fields=[
            F('Name', 'string', '0+'),
        ]),
        F('ResponsePartitionLimit', 'int32', '0+', default=2000),
        F('Cursor', 'Cursor', '0+', nullable='0+', default=None, fields=[
            F('TopicName', 'string', '0+'),
            F('PartitionIndex', 'int32', '0+'),
        ]),
    ],
)

RESPONSE = Message(
    'DescribeTopicPartitionsResponse',
    kind='response',
    api_key=75,
    valid='0',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+', ignorable=True),
        F('Topics', '[]DescribeTopicPartitionsResponseTopic', '0+', fields=[
            F('ErrorCode', 'int16', '0+'),
            F('Name', 'string', '0+', nullable='0+'),
            F('TopicId', 'uuid', '0+', ignorable=True),
            F('IsInternal', 'bool', '0+', default=False, ignorable=True),
            F('Partitions', '[]DescribeTopicPartitionsResponsePartition', '0+', fields=[
                F('ErrorCode', 'int16', '0+'),
                F('PartitionIndex', 'int32', '0+'),
                F('LeaderId', 'int32', '0+'),
                F('LeaderEpoch', 'int32', '0+', default=-1, ignorable=True),
                F('ReplicaNodes', '[]int32', '0+'),
                F('IsrNodes', '[]int32', '0+'),
                F('EligibleLeaderReplicas', '[]int32', '0+', nullable='0+', default=None),
                F('LastKnownElr', '[]int32', '0+', nullable='0+', default=None),
                F('OfflineReplicas', '[]int32', '0+', ignorable=True),
            ]),
            F('TopicAuthorizedOperations', 'int32', '0+', default=-2147483648),
        ]),
        F('NextCursor', 'Cursor', '0+', nullable='0+', default=None, fields=[
            F('TopicName', 'string', '0+'),
            F('PartitionIndex', 'int32', '0+'),
        ]),
    ],
)
