"""DescribeLogDirs (API key 35): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'DescribeLogDirsRequest',
    kind='request',
    api_key=35,
    valid='1-5',
    flexible='2+',
    listeners=('broker',),
    fields=[
        F('Topics', '[]DescribableLogDirTopic', '0+', nullable='0+', fields=[
            F('Topic', 'string', '0+'),
            F('Partitions', '[]int32', '0+'),
        ]),
    ],
)

RESPONSE = Message(
    'DescribeLogDirsResponse',
    kind='response',
    api_key=35,
    valid='1-5',
    flexible='2+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '3+', ignorable=True),
        F('Results', '[]DescribeLogDirsResult', '0+', fields=[
            F('ErrorCode', 'int16', '0+'),
            F('LogDir', 'string', '0+'),
            F('Topics', '[]DescribeLogDirsTopic', '0+', fields=[
                F('Name', 'string', '0+'),
                F('Partitions', '[]DescribeLogDirsPartition', '0+', fields=[
                    F('PartitionIndex', 'int32', '0+'),
                    F('PartitionSize', 'int64', '0+'),
                    F('OffsetLag', 'int64', '0+'),
                    F('IsFutureKey', 'bool', '0+'),
                ]),
            ]),
            F('TotalBytes', 'int64', '4+', default=-1, ignorable=True),
            F('UsableBytes', 'int64', '4+', default=-1, ignorable=True),
            F('IsCordoned', 'bool', '5+', default=False, ignorable=True),
        ]),
    ],
)
