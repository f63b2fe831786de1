"""UnregisterController (API key 94): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'UnregisterControllerRequest',
    kind='request',
    api_key=94,
    valid='0',
    flexible='0+',
    listeners=('broker', 'controller'),
    fields=[
        F('ControllerId', 'int32', '0+'),
    ],
)

RESPONSE = Message(
    'UnregisterControllerResponse',
    kind='response',
    api_key=94,
    valid='0',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('ErrorMessage', 'string', '0+', nullable='0+'),
    ],
)
