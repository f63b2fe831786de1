"""DescribeProducers (API key 61): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'DescribeProducersRequest',
    kind='request',
    api_key=61,
    valid='0',
    flexible='0+',
    listeners=('broker',),
    fields=[
        F('Topics', '[]TopicRequest', '0+', fields=[
            F('Name', 'string', '0+'),
            F('PartitionIndexes', '[]int32', '0+'),
        ]),
    ],
)

RESPONSE = Message(
    'DescribeProducersResponse',
    kind='response',
    api_key=61,
    valid='0',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('Topics', '[]TopicResponse', '0+', fields=[
            F('Name', 'string', '0+'),
            F('Partitions', '[]PartitionResponse', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('ErrorCode', 'int16', '0+'),
                F('ErrorMessage', 'string', '0+', nullable='0+', default=None),
                F('ActiveProducers', '[]ProducerState', '0+', fields=[
                    F('ProducerId', 'int64', '0+'),
                    F('ProducerEpoch', 'int32', '0+'),
                    F('LastSequence', 'int32', '0+', default=-1),
                    F('LastTimestamp', 'int64', '0+', default=-1),
                    F('CoordinatorEpoch', 'int32', '0+'),
                    F('CurrentTxnStartOffset', 'int64', '0+', default=-1),
                ]),
            ]),
        ]),
    ],
)
