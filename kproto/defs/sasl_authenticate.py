"""SaslAuthenticate (API key 36): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'SaslAuthenticateRequest',
    kind='request',
    api_key=36,
    valid='0-2',
    flexible='2+',
    listeners=('broker', 'controller'),
    fields=[
        F('AuthBytes', 'bytes', '0+'),
    ],
)

RESPONSE = Message(
    'SaslAuthenticateResponse',
    kind='response',
    api_key=36,
    valid='0-2',
    flexible='2+',
    fields=[
        F('ErrorCode', 'int16', '0+'),
        F('ErrorMessage', 'string', '0+', nullable='0+'),
        F('AuthBytes', 'bytes', '0+'),
        F('SessionLifetimeMs', 'int64', '1+', default=0, ignorable=True),
    ],
)
