"""CreatePartitions (API key 37): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'CreatePartitionsRequest',
    kind='request',
    api_key=37,
    valid='0-3',
    flexible='2+',
    listeners=('broker', 'controller'),
    fields=[
        F('Topics', '[]CreatePartitionsTopic', '0+', fields=[
            F('Name', 'string', '0+'),
            F('Count', 'int32', '0+'),
            F('Assignments', '[]CreatePartitionsAssignment', '0+', nullable='0+', fields=[
                F('BrokerIds', '[]int32', '0+'),
            ]),
        ]),
        F('TimeoutMs', 'int32', '0+'),
        F('ValidateOnly', 'bool', '0+'),
    ],
)

RESPONSE = Message(
    'CreatePartitionsResponse',
    kind='response',
    api_key=37,
    valid='0-3',
    flexible='2+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('Results', '[]CreatePartitionsTopicResult', '0+', fields=[
            F('Name', 'string', '0+'),
            F('ErrorCode', 'int16', '0+'),
            F('ErrorMessage', 'string', '0+', nullable='0+', default=None),
        ]),
    ],
)
