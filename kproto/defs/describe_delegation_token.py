"""DescribeDelegationToken (API key 41): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'DescribeDelegationTokenRequest',
    kind='request',
    api_key=41,
    valid='1-3',
    flexible='2+',
    listeners=('broker', 'controller'),
    fields=[
        F('Owners', '[]DescribeDelegationTokenOwner', '0+', nullable='0+', fields=[
            F('PrincipalType', 'string', '0+'),
            F('PrincipalName', 'string', '0+'),
        ]),
    ],
)

RESPONSE = Message(
    'DescribeDelegationTokenResponse',
    kind='response',
    api_key=41,
    valid='1-3',
    flexible='2+',
    fields=[
        F('ErrorCode', 'int16', '0+'),
        F('Tokens', '[]DescribedDelegationToken', '0+', fields=[
            F('PrincipalType', 'string', '0+'),
            F('PrincipalName', 'string', '0+'),
            F('TokenRequesterPrincipalType', 'string', '3+'),
            F('TokenRequesterPrincipalName', 'string', '3+'),
            F('IssueTimestamp', 'int64', '0+'),
            F('ExpiryTimestamp', 'int64', '0+'),
            F('MaxTimestamp', 'int64', '0+'),
            F('TokenId', 'string', '0+'),
            F('Hmac', 'bytes', '0+'),
            F('Renewers', '[]DescribedDelegationTokenRenewer', '0+', fields=[
                F('PrincipalType', 'string', '0+'),
                F('PrincipalName', 'string', '0+'),
            ]),
        ]),
        F('ThrottleTimeMs', 'int32', '0+'),
    ],
)
