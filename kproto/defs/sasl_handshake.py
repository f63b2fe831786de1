"""SaslHandshake (API key 17): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'SaslHandshakeRequest',
    kind='request',
    api_key=17,
    valid='0-1',
    flexible='none',
    listeners=('broker', 'controller'),
    fields=[
        F('Mechanism', 'string', '0+'),
    ],
)

RESPONSE = Message(
    'SaslHandshakeResponse',
    kind='response',
    api_key=17,
    valid='0-1',
    flexible='none',
    fields=[
        F('ErrorCode', 'int16', '0+'),
        F('Mechanisms', '[]string', '0+'),
    ],
)
