"""Heartbeat (API key 12): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'HeartbeatRequest',
    kind='request',
    api_key=12,
    valid='0-4',
    flexible='4+',
    listeners=('broker',),
    fields=[
        F('GroupId', 'string', '0+'),
        F('GenerationId', 'int32', '0+'),
        F('MemberId', 'string', '0+'),
        F('GroupInstanceId', 'string', '3+', nullable='3+', default=None),
    ],
)

RESPONSE = Message(
    'HeartbeatResponse',
    kind='response',
    api_key=12,
    valid='0-4',
    flexible='4+',
    fields=[
        F('ThrottleTimeMs', 'int32', '1+', ignorable=True),
        F('ErrorCode', 'int16', '0+'),
    ],
)
