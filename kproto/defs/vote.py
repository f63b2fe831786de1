"""Vote (API key 52): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'VoteRequest',
    kind='request',
    api_key=52,
    valid='0-2',
    flexible='0+',
    listeners=('controller',),
    fields=[
        F('ClusterId', 'string', '0+', nullable='0+', default=None),
        F('VoterId', 'int32', '1+', default=-1, ignorable=True),
        F('Topics', '[]TopicData', '0+', fields=[
            F('TopicName', 'string', '0+'),
            F('Partitions', '[]PartitionData', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('ReplicaEpoch', 'int32', '0+'),
                F('ReplicaId', 'int32', '0+'),
                F('ReplicaDirectoryId', 'uuid', '1+', ignorable=True),
                F('VoterDirectoryId', 'uuid', '1+', ignorable=True),
                F('LastOffsetEpoch', 'int32', '0+'),
                F('LastOffset', 'int64', '0+'),
                F('PreVote', 'bool', '2+'),
            ]),
        ]),
    ],
)

RESPONSE = Message(
    'VoteResponse',
    kind='response',
    api_key=52,
    valid='0-2',
    flexible='0+',
    fields=[
        F('ErrorCode', 'int16', '0+'),
        F('Topics', '[]TopicData', '0+', fields=[
            F('TopicName', 'string', '0+'),
            F('Partitions', '[]PartitionData', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('ErrorCode', 'int16', '0+'),
                F('LeaderId', 'int32', '0+'),
                F('LeaderEpoch', 'int32', '0+'),
                F('VoteGranted', 'bool', '0+'),
            ]),
        ]),
        F('NodeEndpoints', '[]NodeEndpoint', '1+', tag=0, tagged='1+', fields=[
            F('NodeId', 'int32', '1+'),
            F('Host', 'string', '1+'),
            F('Port', 'uint16', '1+'),
        ]),
    ],
)
