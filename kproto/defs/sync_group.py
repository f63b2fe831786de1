"""SyncGroup (API key 14): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'SyncGroupRequest',
    kind='request',
    api_key=14,
    valid='0-5',
    flexible='4+',
    listeners=('broker',),
    fields=[
        F('GroupId', 'string', '0+'),
        F('GenerationId', 'int32', '0+'),
        F('MemberId', 'string', '0+'),
        F('GroupInstanceId', 'string', '3+', nullable='3+', default=None),
        F('ProtocolType', 'string', '5+', nullable='5+', default=None, ignorable=True),
        F('ProtocolName', 'string', '5+', nullable='5+', default=None, ignorable=True),
        F('Assignments', '[]SyncGroupRequestAssignment', '0+', fields=[
            F('MemberId', 'string', '0+'),
            F('Assignment', 'bytes', '0+'),
        ]),
    ],
)

RESPONSE = Message(
    'SyncGroupResponse',
    kind='response',
    api_key=14,
    valid='0-5',
    flexible='4+',
    fields=[
        F('ThrottleTimeMs', 'int32', '1+', ignorable=True),
        F('ErrorCode', 'int16', '0+'),
        F('ProtocolType', 'string', '5+', nullable='5+', default=None, ignorable=True),
        F('ProtocolName', 'string', '5+', nullable='5+', default=None, ignorable=True),
        F('Assignment', 'bytes', '0+'),
    ],
)
