"""ListConfigResources (API key 74): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'ListConfigResourcesRequest',
    kind='request',
    api_key=74,
    valid='0-1',
    flexible='0+',
    listeners=('broker',),
    fields=[
        F('ResourceTypes', '[]int8', '1+'),
    ],
)

RESPONSE = Message(
    'ListConfigResourcesResponse',
    kind='response',
    api_key=74,
    valid='0-1',
    flexible='0+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('ConfigResources', '[]ConfigResource', '0+', fields=[
            F('ResourceName', 'string', '0+'),
            F('ResourceType', 'int8', '1+', default=16, ignorable=True),
        ]),
    ],
)
