"""EndQuorumEpoch (API key 54): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'EndQuorumEpochRequest',
    kind='request',
    api_key=54,
    valid='0-1',
    flexible='1+',
    listeners=('controller',),
    fields=[
        F('ClusterId', 'string', '0+', nullable='0+', default=None),
        F('Topics', '[]TopicData', '0+', fields=[
            F('TopicName', 'string', '0+'),
            F('Partitions', '[]PartitionData', '0+', fields=[
                F('PartitionIndex', 'int32', '0+'),
                F('LeaderId', 'int32', '0+'),
                F('LeaderEpoch', 'int32', '0+'),
                F('PreferredSuccessors', '[]int32', '0', ignorable=True),
                F('PreferredCandidates', '[]ReplicaInfo', '1+', ignorable=True, fields=[
                    F('CandidateId', 'int32', '1+'),
                    F('CandidateDirectoryId', 'uuid', '1+'),
                ]),
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
    'EndQuorumEpochResponse',
    kind='response',
    api_key=54,
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
