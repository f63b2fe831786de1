"""OffsetDelete (API key 47): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'OffsetDeleteRequest',
    kind='request',
    api_key=47,
    valid='0',
    flexible='none',
    listeners=('broker',),
    fields=[
        F('GroupId', 'string', '0+'),
        F('Topics', '[]OffsetDeleteRequestTopic', '0+', fields=[
            F('Name', 'string', '0+'),
            F('Partitions', '[]OffsetDeleteRequestPartition', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
            ]),
        ]),
    ],
)

RESPONSE = Message(
    'OffsetDeleteResponse',
    kind='response',
    api_key=47,
    valid='0',
    flexible='none',
    fields=[
        F('ErrorCode', 'int16', '0+'),
        F('ThrottleTimeMs', 'int32', '0+', ignorable=True),
        F('Topics', '[]OffsetDeleteResponseTopic', '0+', fields=[
            F('Name', 'string', '0+'),
            F('Partitions', '[]OffsetDeleteResponsePartition', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('ErrorCode', 'int16', '0+'),
            ]),
        ]),
    ],
)
