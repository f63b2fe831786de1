"""UpdateRaftVoter (API key 82): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'UpdateRaftVoterRequest',
    kind='request',
    api_key=82,
    valid='0',
    flexible='0+',
    listeners=('controller',),
    fields=[
        F('ClusterId', 'string', '0+', nullable='0+'),
        F('CurrentLeaderEpoch', 'int32', '0+'),
        F('VoterId', 'int32', '0+'),
        F('VoterDirectoryId', 'uuid', '0+'),
        F('Listeners', '[]Listener', '0+', fields=[
            F('Name', 'string', '0+'),
            F('Host', 'string', '0+'),
            F('Port', 'uint16', '0+'),
        ]),
        F('KRaftVersionFeature', 'KRaftVersionFeature', '0+', fields=[
            F('MinSupportedVersion', 'int16', '0+'),
            F('MaxSupportedVersion', 'int16', '0+'),
        ]),
    ],
)

RESPONSE = Message(
    'UpdateRaftVoterResponse',
    kind='response',
    api_key=82,
    valid='0',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('CurrentLeader', 'CurrentLeader', '0+', tag=0, tagged='0+', fields=[
            F('LeaderId', 'int32', '0+', default=-1),
            F('LeaderEpoch', 'int32', '0+', default=-1),
            F('Host', 'string', '0+'),
            F('Port', 'int32', '0+'),
        ]),
    ],
)
