"""AlterShareGroupOffsets (API key 91): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'AlterShareGroupOffsetsRequest',
    kind='request',
    api_key=91,
    valid='0',
    flexible='0+',
    listeners=('broker',),
    fields=[
        F('GroupId', 'string', '0+'),
        F('Topics', '[]AlterShareGroupOffsetsRequestTopic', '0+', fields=[
            F('TopicName', 'string', '0+'),
            F('Partitions', '[]AlterShareGroupOffsetsRequestPartition', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('StartOffset', 'int64', '0+'),
            ]),
        ]),
    ],
)

RESPONSE = Message(
    'AlterShareGroupOffsetsResponse',
    kind='response',
    api_key=91,
    valid='0',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('ErrorMessage', 'string', '0+', nullable='0+', default=None),
        F('Responses', '[]AlterShareGroupOffsetsResponseTopic', '0+', fields=[
            F('TopicName', 'string', '0+'),
            F('TopicId', 'uuid', '0+'),
            F('Partitions', '[]AlterShareGroupOffsetsResponsePartition', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('ErrorCode', 'int16', '0+'),
                F('ErrorMessage', 'string', '0+', nullable='0+', default=None),
            ]),
        ]),
    ],
)
