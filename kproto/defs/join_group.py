"""JoinGroup (API key 11): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'JoinGroupRequest',
    kind='request',
    api_key=11,
    valid='0-9',
    flexible='6+',
    listeners=('broker',),
    fields=[
        F('GroupId', 'string', '0+'),
        F('SessionTimeoutMs', 'int32', '0+'),
        F('RebalanceTimeoutMs', 'int32', '1+', default=-1, ignorable=True),
        F('MemberId', 'string', '0+'),
        F('GroupInstanceId', 'string', '5+', nullable='5+', default=None),
        F('ProtocolType', 'string', '0+'),
        F('Protocols', '[]JoinGroupRequestProtocol', '0+', fields=[
            F('Name', 'string', '0+'),
            F('Metadata', 'bytes', '0+'),
        ]),
        F('Reason', 'string', '8+', nullable='8+', default=None, ignorable=True),
    ],
)

RESPONSE = Message(
    'JoinGroupResponse',
    kind='response',
    api_key=11,
    valid='0-9',
    flexible='6+',
    fields=[
        F('ThrottleTimeMs', 'int32', '2+', ignorable=True),
        F('ErrorCode', 'int16', '0+'),
        F('GenerationId', 'int32', '0+', default=-1),
        F('ProtocolType', 'string', '7+', nullable='7+', default=None, ignorable=True),
        F('ProtocolName', 'string', '0+', nullable='7+'),
        F('Leader', 'string', '0+'),
        F('SkipAssignment', 'bool', '9+', default=False),
        F('MemberId', 'string', '0+'),
        F('Members', '[]JoinGroupResponseMember', '0+', fields=[
            F('MemberId', 'string', '0+'),
            F('GroupInstanceId', 'string', '5+', nullable='5+', default=None, ignorable=True),
            F('Metadata', 'bytes', '0+'),
        ]),
    ],
)
