"""LeaveGroup (API key 13): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'LeaveGroupRequest',
    kind='request',
    api_key=13,
    valid='0-5',
    flexible='4+',
    listeners=('broker',),
    fields=[
        F('GroupId', 'string', '0+'),
        F('MemberId', 'string', '0-2'),
        F('Members', '[]MemberIdentity', '3+', fields=[
            F('MemberId', 'string', '3+'),
            F('GroupInstanceId', 'string', '3+', nullable='3+', default=None),
            F('Reason', 'string', '5+', nullable='5+', default=None, ignorable=True),
        ]),
    ],
)

RESPONSE = Message(
    'LeaveGroupResponse',
    kind='response',
    api_key=13,
    valid='0-5',
    flexible='4+',
    fields=[
        F('ThrottleTimeMs', 'int32', '1+', ignorable=True),
        F('ErrorCode', 'int16', '0+'),
        F('Members', '[]MemberResponse', '3+', fields=[
            F('MemberId', 'string', '3+'),
            F('GroupInstanceId', 'string', '3+', nullable='3+'),
            F('ErrorCode', 'int16', '3+'),
        ]),
    ],
)
