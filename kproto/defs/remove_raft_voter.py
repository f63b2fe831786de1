"""RemoveRaftVoter (API key 81): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'RemoveRaftVoterRequest',
    kind='request',
    api_key=81,
    valid='0',
    flexible='0+',
    listeners=('controller', 'broker'),
    fields=[
        F('ClusterId', 'string', '0+', nullable='0+'),
        F('VoterId', 'int32', '0+'),
        F('VoterDirectoryId', 'uuid', '0+'),
    ],
)

RESPONSE = Message(
    'RemoveRaftVoterResponse',
    kind='response',
    api_key=81,
    valid='0',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('ErrorMessage', 'string', '0+', nullable='0+', ignorable=True),
    ],
)
