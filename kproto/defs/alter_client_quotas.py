"""AlterClientQuotas (API key 49): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'AlterClientQuotasRequest',
    kind='request',
    api_key=49,
    valid='0-1',
    flexible='1+',
    listeners=('broker', 'controller'),
    fields=[
        F('Entries', '[]EntryData', '0+', fields=[
            F('Entity', '[]EntityData', '0+', fields=[
                F('EntityType', 'string', '0+'),
                F('EntityName', 'string', '0+', nullable='0+'),
            ]),
            F('Ops', '[]OpData', '0+', fields=[
                F('Key', 'string', '0+'),
                F('Value', 'float64', '0+'),
                F('Remove', 'bool', '0+'),
            ]),
        ]),
        F('ValidateOnly', 'bool', '0+'),
    ],
)

RESPONSE = Message(
    'AlterClientQuotasResponse',
    kind='response',
    api_key=49,
    valid='0-1',
    flexible='1+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('Entries', '[]EntryData', '0+', fields=[
            F('ErrorCode', 'int16', '0+'),
            F('ErrorMessage', 'string', '0+', nullable='0+'),
            F('Entity', '[]EntityData', '0+', fields=[
                F('EntityType', 'string', '0+'),
                F('EntityName', 'string', '0+', nullable='0+'),
            ]),
        ]),
    ],
)
