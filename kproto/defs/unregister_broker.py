"""UnregisterBroker (API key 64): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'UnregisterBrokerRequest',
    kind='request',
    api_key=64,
    valid='0',
    flexible='0+',
    listeners=('broker', 'controller'),
    fields=[
        F('BrokerId', 'int32', '0+'),
    ],
)

RESPONSE = Message(
    'UnregisterBrokerResponse',
    kind='response',
    api_key=64,
    valid='0',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('ErrorMessage', 'string', '0+', nullable='0+'),
    ],
)
