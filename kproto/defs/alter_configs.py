"""AlterConfigs (API key 33): request and response.

Generated from Apache Kafka 4.4.0's JSON message specs by
tools/gen_kproto_defs.py; do not edit by hand, re-run the generator.
"""
from kproto.schema import Field as F, Message, Struct as S  # noqa: F401

REQUEST = Message(
    'AlterConfigsRequest',
    kind='request',
    api_key=33,
    valid='0-2',
    flexible='2+',
    listeners=('broker', 'controller'),
    fields=[
        F('Resources', '[]AlterConfigsResource', '0+', fields=[
            F('ResourceType', 'int8', '0+'),
            F('ResourceName', 'string', '0+'),
            F('Configs', '[]AlterableConfig', '0+', fields=[
                F('Name', 'string', '0+'),
                F('Value', 'string', '0+', nullable='0+'),
            ]),
        ]),
        F('ValidateOnly', 'bool', '0+'),
    ],
)

RESPONSE = Message(
    'AlterConfigsResponse',
    kind='response',
    api_key=33,
    valid='0-2',
    flexible='2+',
    fields=[
        F('ThrottleTimeMs', 'int32', '0+'),
        F('Responses', '[]AlterConfigsResourceResponse', '0+', fields=[
            F('ErrorCode', 'int16', '0+'),
            F('ErrorMessage', 'string', '0+', nullable='0+'),
            F('ResourceType', 'int8', '0+'),
            F('ResourceName', 'string', '0+'),
        ]),
    ],
)
