"""WriteTxnMarkers (API key 27): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'WriteTxnMarkersRequest',
    kind='request',
    api_key=27,
    valid='1-2',
    flexible='1+',
    listeners=('broker',),
    fields=[
        F('Markers', '[]WritableTxnMarker', '0+', fields=[
            F('ProducerId', 'int64', '0+'),
            F('ProducerEpoch', 'int16', '0+'),
            F('TransactionResult', 'bool', '0+'),
            F('Topics', '[]WritableTxnMarkerTopic', '0+', fields=[
                F('Name', 'string', '0+'),
                F('PartitionIndexes', '[]int32', '0+'),
            ]),
            F('CoordinatorEpoch', 'int32', '0+'),
            F('TransactionVersion', 'int8', '2+', default=0, ignorable=True),
        ]),
    ],
)

RESPONSE = Message(
    'WriteTxnMarkersResponse',
    kind='response',
    api_key=27,
    valid='1-2',
    flexible='1+',
    fields=[
        F('Markers', '[]WritableTxnMarkerResult', '0+', fields=[
            F('ProducerId', 'int64', '0+'),
            F('Topics', '[]WritableTxnMarkerTopicResult', '0+', fields=[
                F('Name', 'string', '0+'),
                F('Partitions', '[]WritableTxnMarkerPartitionResult', '0+', fields=[
                    F('PartitionIndex', 'int32', '0+'),
                    F('ErrorCode', 'int16', '0+'),
                ]),
            ]),
        ]),
    ],
)
