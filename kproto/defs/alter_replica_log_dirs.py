"""AlterReplicaLogDirs (API key 34): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'AlterReplicaLogDirsRequest',
    kind='request',
    api_key=34,
    valid='1-2',
    flexible='2+',
    listeners=('broker',),
    fields=[
        F('Dirs', '[]AlterReplicaLogDir', '0+', fields=[
            F('Path', 'string', '0+'),
            F('Topics', '[]AlterReplicaLogDirTopic', '0+', fields=[
                F('Name', 'string', '0+'),
                F('Partitions', '[]int32', '0+'),
            ]),
        ]),
    ],
)

RESPONSE = Message(
    'AlterReplicaLogDirsResponse',
    kind='response',
    api_key=34,
    valid='1-2',
    flexible='2+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('Results', '[]AlterReplicaLogDirTopicResult', '0+', fields=[
            F('TopicName', 'string', '0+'),
            F('Partitions', '[]AlterReplicaLogDirPartitionResult', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('ErrorCode', 'int16', '0+'),
            ]),
        ]),
    ],
)
