"""AddRaftVoter (API key 80): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'AddRaftVoterRequest',
    kind='request',
    api_key=80,
    valid='0-1',
    flexible='0+',
    listeners=('controller', 'broker'),
    fields=[
        F('ClusterId', 'string', '0+', nullable='0+'),
        F('TimeoutMs', 'int32', '0+'),
        F('VoterId', 'int32', '0+'),
        F('VoterDirectoryId', 'uuid', '0+'),
        F('Listeners', '[]Listener', '0+', fields=[
            F('Name', 'string', '0+'),
            F('Host', 'string', '0+'),
            F('Port', 'uint16', '0+'),
        ]),
        F('AckWhenCommitted', 'bool', '1+', default=True),
    ],
)

RESPONSE = Message(
    'AddRaftVoterResponse',
    kind='response',
    api_key=80,
    valid='0-1',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('ErrorMessage', 'string', '0+', nullable='0+', ignorable=True),
    ],
)
