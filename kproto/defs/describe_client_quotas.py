"""DescribeClientQuotas (API key 48): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'DescribeClientQuotasRequest',
    kind='request',
    api_key=48,
    valid='0-1',
    flexible='1+',
    listeners=('broker',),
    fields=[
        F('Components', '[]ComponentData', '0+', fields=[
            F('EntityType', 'string', '0+'),
            F('MatchType', 'int8', '0+'),
            F('Match', 'string', '0+', nullable='0+'),
        ]),
        F('Strict', 'bool', '0+'),
    ],
)

RESPONSE = Message(
    'DescribeClientQuotasResponse',
    kind='response',
    api_key=48,
    valid='0-1',
    flexible='1+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('ErrorCode', 'int16', '0+'),
        F('ErrorMessage', 'string', '0+', nullable='0+'),
        F('Entries', '[]EntryData', '0+', nullable='0+', fields=[
            F('Entity', '[]EntityData', '0+', fields=[
                F('EntityType', 'string', '0+'),
                F('EntityName', 'string', '0+', nullable='0+'),
            ]),
            F('Values', '[]ValueData', '0+', fields=[
                F('Key', 'string', '0+'),
                F('Value', 'float64', '0+'),
            ]),
        ]),
    ],
)
