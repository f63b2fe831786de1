"""Envelope (API key 58): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'EnvelopeRequest',
    kind='request',
    api_key=58,
    valid='0',
    flexible='0+',
    listeners=('controller',),
    fields=[
        F('RequestData', 'bytes', '0+', zero_copy=True),
        F('RequestPrincipal', 'bytes', '0+', nullable='0+'),
        F('ClientHostAddress', 'bytes', '0+'),
    ],
)

RESPONSE = Message(
    'EnvelopeResponse',
    kind='response',
    api_key=58,
    valid='0',
    flexible='0+',
    fields=[
        F('ResponseData', 'bytes', '0+', nullable='0+', default=None, zero_copy=True),
        F('ErrorCode', 'int16', '0+'),
    ],
)
