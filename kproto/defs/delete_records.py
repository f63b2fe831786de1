"""DeleteRecords (API key 21): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'DeleteRecordsRequest',
    kind='request',
    api_key=21,
    valid='0-2',
    flexible='2+',
    listeners=('broker',),
    fields=[
        F('Topics', '[]DeleteRecordsTopic', '0+', fields=[
            F('Name', 'string', '0+'),
            F('Partitions', '[]DeleteRecordsPartition', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('Offset', 'int64', '0+'),
            ]),
        ]),
        F('TimeoutMs', 'int32', '0+'),
    ],
)

RESPONSE = Message(
    'DeleteRecordsResponse',
    kind='response',
    api_key=21,
    valid='0-2',
    flexible='2+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('Topics', '[]DeleteRecordsTopicResult', '0+', fields=[
            F('Name', 'string', '0+'),
            F('Partitions', '[]DeleteRecordsPartitionResult', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('LowWatermark', 'int64', '0+'),
                F('ErrorCode', 'int16', '0+'),
            ]),
        ]),
    ],
)
