"""FetchSnapshot (API key 59): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'FetchSnapshotRequest',
    kind='request',
    api_key=59,
    valid='0-1',
    flexible='0+',
    listeners=('controller',),
    fields=[
        F('ClusterId', 'string', '0+', nullable='0+', default=None, tag=0, tagged='0+'),
        F('ReplicaId', 'int32', '0+', default=-1),
        F('MaxBytes', 'int32', '0+', default=2147483647),
        F('Topics', '[]TopicSnapshot', '0+', fields=[
            F('Name', 'string', '0+'),
            F('Partitions', '[]PartitionSnapshot', '0+', fields=[
                F('Partition', 'int32', '0+'),
                F('CurrentLeaderEpoch', 'int32', '0+'),
                F('SnapshotId', 'SnapshotId', '0+', fields=[
                    F('EndOffset', 'int64', '0+'),
                    F('Epoch', 'int32', '0+'),
                ]),
                F('Position', 'int64', '0+'),
                F('ReplicaDirectoryId', 'uuid', '1+', ignorable=True, tag=0, tagged='1+'),
            ]),
        ]),
    ],
)

RESPONSE = Message(
    'FetchSnapshotResponse',
    kind='response',
    api_key=59,
    valid='0-1',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+', ignorable=True),
        F('ErrorCode', 'int16', '0+'),
        F('Topics', '[]TopicSnapshot', '0+', fields=[
            F('Name', 'string', '0+'),
            F('Partitions', '[]PartitionSnapshot', '0+', fields=[
                F('Index', 'int32', '0+'),
                F('ErrorCode', 'int16', '0+'),
                F('SnapshotId', 'SnapshotId', '0+', fields=[
                    F('EndOffset', 'int64', '0+'),
                    F('Epoch', 'int32', '0+'),
                ]),
                F('CurrentLeader', 'LeaderIdAndEpoch', '0+', tag=0, tagged='0+', fields=[
                    F('LeaderId', 'int32', '0+'),
                    F('LeaderEpoch', 'int32', '0+'),
                ]),
                F('Size', 'int64', '0+'),
                F('Position', 'int64', '0+'),
                F('UnalignedRecords', 'records', '0+'),
            ]),
        ]),
        F('NodeEndpoints', '[]NodeEndpoint', '1+', tag=0, tagged='1+', fields=[
            F('NodeId', 'int32', '1+'),
            F('Host', 'string', '1+'),
            F('Port', 'uint16', '1+'),
        ]),
    ],
)
