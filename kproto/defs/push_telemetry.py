"""PushTelemetry (API key 72): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'PushTelemetryRequest',
    kind='request',
    api_key=72,
    valid='0',
    flexible='0+',
    listeners=('broker',),
    fields=[
        F('ClientInstanceId', 'uuid', '0+'),
        F('SubscriptionId', 'int32', '0+'),
        F('Terminating', 'bool', '0+'),
        F('CompressionType', 'int8', '0+'),
        F('Metrics', 'bytes', '0+', zero_copy=True),
    ],
)

RESPONSE = Message(
    'PushTelemetryResponse',
    kind='response',
    api_key=72,
    valid='0',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
    ],
)
