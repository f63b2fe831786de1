"""CreateDelegationToken (API key 38): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'CreateDelegationTokenRequest',
    kind='request',
    api_key=38,
    valid='1-3',
    flexible='2+',
    listeners=('broker', 'controller'),
    fields=[
        F('OwnerPrincipalType', 'string', '3+', nullable='3+'),
        F('OwnerPrincipalName', 'string', '3+', nullable='3+'),
        F('Renewers', '[]CreatableRenewers', '0+', fields=[
            F('PrincipalType', 'string', '0+'),
            F('PrincipalName', 'string', '0+'),
        ]),
        F('MaxLifetimeMs', 'int64', '0+'),
    ],
)

RESPONSE = Message(
    'CreateDelegationTokenResponse',
    kind='response',
    api_key=38,
    valid='1-3',
    flexible='2+',
    fields=[
        F('ErrorCode', 'int16', '0+'),
        F('PrincipalType', 'string', '0+'),
        F('PrincipalName', 'string', '0+'),
        F('TokenRequesterPrincipalType', 'string', '3+'),
        F('TokenRequesterPrincipalName', 'string', '3+'),
        F('IssueTimestampMs', 'int64', '0+'),
        F('ExpiryTimestampMs', 'int64', '0+'),
        F('MaxTimestampMs', 'int64', '0+'),
        F('TokenId', 'string', '0+'),
        F('Hmac', 'bytes', '0+'),
        F('ThrottleTimeMs', 'int32', '0+'),
    ],
)
