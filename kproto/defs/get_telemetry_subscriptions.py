"""GetTelemetrySubscriptions (API key 71): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'GetTelemetrySubscriptionsRequest',
    kind='request',
    api_key=71,
    valid='0',
    flexible='0+',
    listeners=('broker',),
    fields=[
        F('ClientInstanceId', 'uuid', '0+'),
    ],
)

RESPONSE = Message(
    'GetTelemetrySubscriptionsResponse',
    kind='response',
    api_key=71,
    valid='0',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('ClientInstanceId', 'uuid', '0+'),
        F('SubscriptionId', 'int32', '0+'),
        F('AcceptedCompressionTypes', '[]int8', '0+'),
        F('PushIntervalMs', 'int32', '0+'),
        F('TelemetryMaxBytes', 'int32', '0+'),
        F('DeltaTemporality', 'bool', '0+'),
        F('RequestedMetrics', '[]string', '0+'),
    ],
)
