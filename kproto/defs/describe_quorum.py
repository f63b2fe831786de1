"""DescribeQuorum (API key 55): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'DescribeQuorumRequest',
    kind='request',
    api_key=55,
    valid='0-2',
    flexible='0+',
    listeners=('broker', 'controller'),
    fields=[
        F('Topics', '[]TopicData', '0+', fields=[
            F('TopicName', 'string', '0+'),
            F('Partitions', '[]PartitionData', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
            ]),
        ]),
    ],
)

RESPONSE = Message(
    'DescribeQuorumResponse',
    kind='response',
    api_key=55,
    valid='0-2',
    flexible='0+',
    fields=[
        F('ErrorCode', 'int16', '0+'),
        F('ErrorMessage', 'string', '2+', nullable='2+', ignorable=True),
        F('Topics', '[]TopicData', '0+', fields=[
            F('TopicName', 'string', '0+'),
            F('Partitions', '[]PartitionData', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('ErrorCode', 'int16', '0+'),
                F('ErrorMessage', 'string', '2+', nullable='2+', ignorable=True),
                F('LeaderId', 'int32', '0+'),
                F('LeaderEpoch', 'int32', '0+'),
                F('HighWatermark', 'int64', '0+'),
                F('CurrentVoters', '[]ReplicaState', '0+'),
                F('Observers', '[]ReplicaState', '0+'),
            ]),
        ]),
        F('Nodes', '[]Node', '2+', fields=[
            F('NodeId', 'int32', '2+'),
            F('Listeners', '[]Listener', '2+', fields=[
                F('Name', 'string', '2+'),
                F('Host', 'string', '2+'),
                F('Port', 'uint16', '2+'),
            ]),
        ]),
    ],
    common=[
        S('ReplicaState', '0+', fields=[
                F('ReplicaId', 'int32', '0+'),
                F('ReplicaDirectoryId', 'uuid', '2+'),
                F('LogEndOffset', 'int64', '0+'),
                F('LastFetchTimestamp', 'int64', '1+', default=-1, ignorable=True),
                F('LastCaughtUpTimestamp', 'int64', '1+', default=-1, ignorable=True),
        ]),
    ],
)
