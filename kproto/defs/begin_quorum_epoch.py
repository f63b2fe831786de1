"""BeginQuorumEpoch (API key 53): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'BeginQuorumEpochRequest',
    kind='request',
    api_key=53,
    valid='0-1',
    flexible='1+',
    listeners=('controller',),
    fields=[
        F('ClusterId', 'string', '0+', nullable='0+', default=None),
        F('VoterId', 'int32', '1+', default=-1, ignorable=True),
        F('Topics', '[]TopicData', '0+', fields=[
            F('TopicName', 'string', '0+'),
            F('Partitions', '[]PartitionData', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('VoterDirectoryId', 'uuid', '1+', ignorable=True),
                F('LeaderId', 'int32', '0+'),
                F('LeaderEpoch', 'int32', '0+'),
            ]),
        ]),
        F('LeaderEndpoints', '[]LeaderEndpoint', '1+', ignorable=True, fields=[
            F('Name', 'string', '1+'),
            F('Host', 'string', '1+'),
            F('Port', 'uint16', '1+'),
        ]),
    ],
)

RESPONSE = Message(
    'BeginQuorumEpochResponse',
    kind='response',
    api_key=53,
    valid='0-1',
    flexible='1+',
    fields=[
        F('ErrorCode', 'int16', '0+'),
        F('Topics', '[]TopicData', '0+', fields=[
            F('TopicName', 'string', '0+'),
            F('Partitions', '[]PartitionData', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('ErrorCode', 'int16', '0+'),
                F('LeaderId', 'int32', '0+'),
                F('LeaderEpoch', 'int32', '0+'),
            ]),
        ]),
        F('NodeEndpoints', '[]NodeEndpoint', '1+', tag=0, tagged='1+', fields=[
            F('NodeId', 'int32', '1+'),
            F('Host', 'string', '1+'),
            F('Port', 'uint16', '1+'),
        ]),
    ],
)
