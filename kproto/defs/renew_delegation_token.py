"""RenewDelegationToken (API key 39): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'RenewDelegationTokenRequest',
    kind='request',
    api_key=39,
    valid='1-2',
    flexible='2+',
    listeners=('broker', 'controller'),
    fields=[
        F('Hmac', 'bytes', '0+'),
        F('RenewPeriodMs', 'int64', '0+'),
    ],
)

RESPONSE = Message(
    'RenewDelegationTokenResponse',
    kind='response',
    api_key=39,
    valid='1-2',
    flexible='2+',
    fields=[
        F('ErrorCode', 'int16', '0+'),
        F('ExpiryTimestampMs', 'int64', '0+'),
        F('ThrottleTimeMs', 'int32', '0+'),
    ],
)
