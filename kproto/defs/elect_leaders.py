"""ElectLeaders (API key 43): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'ElectLeadersRequest',
    kind='request',
    api_key=43,
    valid='0-2',
    flexible='2+',
    listeners=('broker', 'controller'),
    fields=[
        F('ElectionType', 'int8', '1+'),
        F('TopicPartitions', '[]TopicPartitions', '0+', nullable='0+', fields=[
            F('Topic', 'string', '0+'),
            F('Partitions', '[]int32', '0+'),
        ]),
        F('TimeoutMs', 'int32', '0+', default=60000),
    ],
)

RESPONSE = Message(
    'ElectLeadersResponse',
    kind='response',
    api_key=43,
    valid='0-2',
    flexible='2+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '1+'),
        F('ReplicaElectionResults', '[]ReplicaElectionResult', '0+', fields=[
            F('Topic', 'string', '0+'),
            F('PartitionResult', '[]PartitionResult', '0+', fields=[
                F('PartitionId', 'int32', '0+'),
                F('ErrorCode', 'int16', '0+'),
                F('ErrorMessage', 'string', '0+', nullable='0+'),
            ]),
        ]),
    ],
)
