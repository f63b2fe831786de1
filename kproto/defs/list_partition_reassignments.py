"""ListPartitionReassignments (API key 46): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'ListPartitionReassignmentsRequest',
    kind='request',
    api_key=46,
    valid='0',
    flexible='0+',
    listeners=('broker', 'controller'),
    fields=[
        F('TimeoutMs', 'int32', '0+', default=60000),
        F('Topics', '[]ListPartitionReassignmentsTopics', '0+', nullable='0+', default=None, fields=[
            F('Name', 'string', '0+'),
            F('PartitionIndexes', '[]int32', '0+'),
        ]),
    ],
)

RESPONSE = Message(
    'ListPartitionReassignmentsResponse',
    kind='response',
    api_key=46,
    valid='0',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('ErrorMessage', 'string', '0+', nullable='0+'),
        F('Topics', '[]OngoingTopicReassignment', '0+', fields=[
            F('Name', 'string', '0+'),
            F('Partitions', '[]OngoingPartitionReassignment', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('Replicas', '[]int32', '0+'),
                F('AddingReplicas', '[]int32', '0+'),
                F('RemovingReplicas', '[]int32', '0+'),
            ]),
        ]),
    ],
)
