"""DeleteShareGroupState (API key 86): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'DeleteShareGroupStateRequest',
    kind='request',
    api_key=86,
    valid='0',
    flexible='0+',
    listeners=('broker',),
    fields=[
        F('GroupId', 'string', '0+'),
        F('Topics', '[]DeleteStateData', '0+', fields=[
            F('TopicId', 'uuid', '0+'),
            F('Partitions', '[]PartitionData', '0+', fields=[
                F('Partition', 'int32', '0+'),
            ]),
        ]),
    ],
)

RESPONSE = Message(
    'DeleteShareGroupStateResponse',
    kind='response',
    api_key=86,
    valid='0',
    flexible='0+',
    fields=[
        F('Results', '[]DeleteStateResult', '0+', fields=[
            F('TopicId', 'uuid', '0+'),
            F('Partitions', '[]PartitionResult', '0+', fields=[
                F('Partition', 'int32', '0+'),
                F('ErrorCode', 'int16', '0+'),
                F('ErrorMessage', 'string', '0+', nullable='0+', default=None),
            ]),
        ]),
    ],
)
