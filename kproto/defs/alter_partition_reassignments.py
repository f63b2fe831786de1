"""AlterPartitionReassignments (API key 45): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'AlterPartitionReassignmentsRequest',
    kind='request',
    api_key=45,
    valid='0-1',
    flexible='0+',
    listeners=('broker', 'controller'),
    fields=[
        F('TimeoutMs', 'int32', '0+', default=60000),
        F('AllowReplicationFactorChange', 'bool', '1+', default=True),
        F('Topics', '[]ReassignableTopic', '0+', fields=[
            F('Name', 'string', '0+'),
            F('Partitions', '[]ReassignablePartition', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('Replicas', '[]int32', '0+', nullable='0+', default=None),
            ]),
        ]),
    ],
)

RESPONSE = Message(
    'AlterPartitionReassignmentsResponse',
    kind='response',
    api_key=45,
    valid='0-1',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('AllowReplicationFactorChange', 'bool', '1+', default=True, ignorable=True),
        F('ErrorCode', 'int16', '0+'),
        F('ErrorMessage', 'string', '0+', nullable='0+'),
        F('Responses', '[]ReassignableTopicResponse', '0+', fields=[
            F('Name', 'string', '0+'),
            F('Partitions', '[]ReassignablePartitionResponse', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('ErrorCode', 'int16', '0+'),
                F('ErrorMessage', 'string', '0+', nullable='0+'),
            ]),
        ]),
    ],
)
