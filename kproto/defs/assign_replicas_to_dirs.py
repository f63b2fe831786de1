"""AssignReplicasToDirs (API key 73): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'AssignReplicasToDirsRequest',
    kind='request',
    api_key=73,
    valid='0',
    flexible='0+',
    listeners=('controller',),
    fields=[
        F('BrokerId', 'int32', '0+'),
        F('BrokerEpoch', 'int64', '0+', default=-1),
        F('Directories', '[]DirectoryData', '0+', fields=[
            F('Id', 'uuid', '0+'),
            F('Topics', '[]TopicData', '0+', fields=[
                F('TopicId', 'uuid', '0+'),
                F('Partitions', '[]PartitionData', '0+', fields=[
                    F('PartitionIndex', 'int32', '0+'),
                ]),
            ]),
        ]),
    ],
)

RESPONSE = Message(
    'AssignReplicasToDirsResponse',
    kind='response',
    api_key=73,
    valid='0',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('Directories', '[]DirectoryData', '0+', fields=[
            F('Id', 'uuid', '0+'),
            F('Topics', '[]TopicData', '0+', fields=[
                F('TopicId', 'uuid', '0+'),
                F('Partitions', '[]PartitionData', '0+', fields=[
                    F('PartitionIndex', 'int32', '0+'),
                    F('ErrorCode', 'int16', '0+'),
                ]),
            ]),
        ]),
    ],
)
